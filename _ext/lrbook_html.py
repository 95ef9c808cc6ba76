"""Small fixes to the book's HTML, as a local Sphinx extension.

* De-duplicate script tags. With Jupyter Book 1.0.4, sphinx-thebe registers its
  inline configuration script twice, so every page declares ``THEBE_JS_URL`` twice
  and the browser logs "Identifier 'THEBE_JS_URL' has already been declared". The
  real-browser test (tests/browser) requires pages without console errors, so
  identical script entries are dropped before the page is rendered.
* Repository and launch buttons from the checkout's own ``origin`` remote. The book has
  no address written into ``_config.yml``: where the clone being built has an ``origin``
  on GitHub, GitLab or Bitbucket, the pages get a repository button, an issues button
  (GitHub and GitLab) and a Binder launch button (JupyterLab) for that repository and
  branch; a clone without such a remote (a local path, no remote at all) builds without
  them. A ``repository: url:`` set in ``_config.yml`` wins and is left alone.
"""

from __future__ import annotations

import re
import subprocess

#: hosts whose web pages and launch links the theme knows how to build
HOSTS = ("github.com", "gitlab.com", "bitbucket.org")
BINDERHUB_URL = "https://mybinder.org"

# https://[user[:token]@]host[:port]/owner/repo[.git], ssh://[user@]host[:port]/owner/repo,
# and scp-like user@host:owner/repo
_REMOTE = re.compile(
    r"^(?:(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[^/:@]+)(?::\d+)?/"
    r"|[^@/:]+@(?P<scp_host>[^/:@]+):)"
    r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def repository_url(remote: str | None) -> str | None:
    """Web address of a git remote on a known host, or None.

    Credentials and ``.git`` are dropped: ``git@github.com:o/r.git`` and
    ``https://user:token@github.com/o/r`` both give ``https://github.com/o/r``. Anything
    else (a local path, ``file://``, another host, a nested GitLab group) gives None.
    """
    match = _REMOTE.match((remote or "").strip())
    if match is None:
        return None
    host = (match["host"] or match["scp_host"]).lower()
    if host not in HOSTS:
        return None
    return f"https://{host}/{match['owner']}/{match['repo']}"


def repository_options(url: str, branch: str) -> dict:
    """sphinx-book-theme options for the repository, issues and launch buttons.

    ``url`` is what :func:`repository_url` returns. The theme has no issues button for
    Bitbucket (it warns, and the build runs with warnings as errors), so none is asked for.
    """
    return {
        "repository_url": url,
        "repository_branch": branch,
        "path_to_docs": "",
        "use_repository_button": True,
        "use_issues_button": not url.startswith("https://bitbucket.org/"),
        "launch_buttons": {"notebook_interface": "jupyterlab",
                           "binderhub_url": BINDERHUB_URL},
    }


def _git(cwd, *args) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _configure_repository(app, config):
    options = config.html_theme_options
    if options.get("repository_url"):
        return
    url = repository_url(_git(app.srcdir, "remote", "get-url", "origin"))
    if url is None:
        return
    branch = _git(app.srcdir, "symbolic-ref", "--short", "-q", "HEAD") or "main"
    options.update(repository_options(url, branch))


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
    app.connect("config-inited", _configure_repository)
    # early: Sphinx stops calling html-page-context handlers after the first that
    # returns a value, so a late handler may never run
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
