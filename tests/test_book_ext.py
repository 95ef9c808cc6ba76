"""The book's local Sphinx extension (_ext/lrbook_html.py): repository and launch buttons."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("lrbook_html", ROOT / "_ext" / "lrbook_html.py")
ext = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ext)


@pytest.mark.parametrize("remote, url", [
    ("https://github.com/owner/book.git", "https://github.com/owner/book"),
    ("https://github.com/owner/book", "https://github.com/owner/book"),
    ("https://github.com/owner/book/", "https://github.com/owner/book"),
    ("git@github.com:owner/book.git", "https://github.com/owner/book"),
    ("ssh://git@github.com:22/owner/book.git", "https://github.com/owner/book"),
    ("https://x-access-token:s3cret@github.com/owner/book.git", "https://github.com/owner/book"),
    ("https://GitHub.com/Owner/my.book", "https://github.com/Owner/my.book"),
    ("git@gitlab.com:team/lr-book.git", "https://gitlab.com/team/lr-book"),
    ("https://bitbucket.org/team/lr_book.git", "https://bitbucket.org/team/lr_book"),
    ("  https://github.com/owner/book.git\n", "https://github.com/owner/book"),
])
def test_hosted_remotes_give_their_web_address(remote, url):
    assert ext.repository_url(remote) == url


@pytest.mark.parametrize("remote", [
    None, "", "/work/main", "../book", "file:///srv/git/book.git",
    "https://example.org/owner/book.git",         # a host the theme cannot link to
    "https://gitlab.com/group/subgroup/book.git",  # the theme assumes owner/repo
    "github.com/owner/book",                       # no scheme, no user@
    "https://github.com/owner",
    "https://github.com.evil.example/owner/book",
])
def test_other_remotes_give_no_buttons(remote):
    assert ext.repository_url(remote) is None


def test_options_ask_for_repository_issues_and_binder_buttons():
    opts = ext.repository_options("https://github.com/owner/book", "main")
    assert opts["repository_url"] == "https://github.com/owner/book"
    assert opts["repository_branch"] == "main"
    assert opts["use_repository_button"] and opts["use_issues_button"]
    assert opts["launch_buttons"] == {"notebook_interface": "jupyterlab",
                                      "binderhub_url": "https://mybinder.org"}
    # the theme has no issues button for Bitbucket and warns (an error under -W)
    bitbucket = ext.repository_options("https://bitbucket.org/team/book", "main")
    assert bitbucket["use_issues_button"] is False
    assert bitbucket["use_repository_button"] is True


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                    "-c", "init.defaultBranch=main", *args],
                   cwd=cwd, check=True, capture_output=True)


def _configured(srcdir, **preset):
    config = SimpleNamespace(html_theme_options=dict(preset))
    ext._configure_repository(SimpleNamespace(srcdir=str(srcdir)), config)
    return config.html_theme_options


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_buttons_follow_the_checkout_being_built(tmp_path):
    _git(tmp_path, "init", "-q")
    assert _configured(tmp_path) == {}                  # no remote: no buttons

    _git(tmp_path, "remote", "add", "origin", "/some/local/clone")
    assert _configured(tmp_path) == {}                  # a local path: no buttons

    _git(tmp_path, "remote", "set-url", "origin", "git@github.com:owner/book.git")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "start")
    _git(tmp_path, "checkout", "-q", "-b", "draft")
    opts = _configured(tmp_path)
    assert opts == ext.repository_options("https://github.com/owner/book", "draft")

    _git(tmp_path, "checkout", "-q", "--detach")        # as many CI systems check out
    assert _configured(tmp_path)["repository_branch"] == "main"

    # an address written into _config.yml is left as it is
    preset = {"repository_url": "https://gitlab.com/team/book"}
    assert _configured(tmp_path, **preset) == preset


def test_outside_a_git_checkout_there_are_no_buttons(tmp_path):
    assert _configured(tmp_path) == {}
