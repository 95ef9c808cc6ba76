"""Small fixes to the book's HTML, as a local Sphinx extension.

* De-duplicate script tags. With Jupyter Book 1.0.4, sphinx-thebe registers its
  inline configuration script twice, so every page declares ``THEBE_JS_URL`` twice
  and the browser logs "Identifier 'THEBE_JS_URL' has already been declared". The
  real-browser test (tests/browser) requires pages without console errors, so
  identical script entries are dropped before the page is rendered.
"""

from __future__ import annotations


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attrs = getattr(script, "attributes", {}) or {}
        # same file and same attributes (an inline script's text is its "body"),
        # whatever priority each copy was registered with
        key = (getattr(script, "filename", str(script)) or "",
               tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique  # in place: later handlers (MathJax) still add to this list


def setup(app):
    # early: Sphinx stops calling html-page-context handlers after the first that
    # returns a value, so a late handler may never run
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
