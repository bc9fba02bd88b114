"""scripts/backports-source, which `make deps` runs on Debian 12: the bookworm-backports source it
writes takes the mirror and signing options of the machine's own bookworm source, from one-line
and deb822 files alike. Each test builds an apt configuration root in a scratch directory and
asserts the exact file written there; nothing reads or changes /etc/apt, no network is used."""
import os
import subprocess
import tempfile

from lib import ROOT

SCRIPT = os.path.join(ROOT, "scripts", "backports-source")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class AptRoot:
    """A scratch apt configuration root: {relative path: text}."""

    def __init__(self, files):
        self.files = files

    def __enter__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="ebt-apt-")
        root = self.dir.name
        os.makedirs(os.path.join(root, "sources.list.d"))
        for rel, text in self.files.items():
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        return root

    def __exit__(self, *exc):
        self.dir.cleanup()


def backports_source(root, *args):
    return subprocess.run([SCRIPT, root] + list(args), capture_output=True, text=True, timeout=10)


def written(root):
    """The files in ROOT/sources.list.d that the test did not put there: {name: text}."""
    d = os.path.join(root, "sources.list.d")
    return {n: open(os.path.join(d, n)).read() for n in sorted(os.listdir(d))}


def test_one_line_source_gives_its_mirror_and_options():
    files = {"sources.list": (
        "# a comment, and a cdrom entry that is no mirror\n"
        "deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_]/ bookworm main\n"
        "deb-src http://src.mirror.example/debian bookworm main\n"
        "deb http://security.mirror.example/debian-security bookworm-security main\n"
        f"deb [arch=amd64 signed-by={KEYRING}] http://apt-proxy.example:3142/debian bookworm "
        "main contrib non-free-firmware  # the local proxy\n"
        "deb http://second.mirror.example/debian bookworm main\n")}
    with AptRoot(files) as root:
        p = backports_source(root, "bookworm")
        assert p.returncode == 0 and p.stderr == "", p
        out = written(root)
    assert out == {"bookworm-backports.list": f"deb [arch=amd64 signed-by={KEYRING}] "
                   "http://apt-proxy.example:3142/debian bookworm-backports main\n"}
    assert p.stdout.endswith("sources.list.d/bookworm-backports.list\n"), p.stdout


def test_deb822_source_as_debian_12_installs_it():
    debian = ("Types: deb\n"
              "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
              "URIs: http://mirror.example/debian\n"
              "Suites: bookworm bookworm-updates\n"
              "Components: main\n"
              f"Signed-By: {KEYRING}\n"
              "\n"
              "Types: deb\n"
              "URIs: http://mirror.example/debian-security\n"
              "Suites: bookworm-security\n"
              "Components: main\n"
              f"Signed-By: {KEYRING}\n")
    with AptRoot({"sources.list.d/debian.sources": debian,
                  "sources.list.d/other.list.disabled": "deb http://x.example/d bookworm main\n"}) \
            as root:
        p = backports_source(root, "bookworm")
        assert p.returncode == 0, p
        out = written(root)
    assert out.pop("bookworm-backports.sources") == (
        "Types: deb\n"
        "URIs: http://mirror.example/debian\n"
        "Suites: bookworm-backports\n"
        "Components: main\n"
        f"Signed-By: {KEYRING}\n")
    assert set(out) == {"debian.sources", "other.list.disabled"}


def test_deb822_skips_disabled_and_source_stanzas_and_keeps_an_inline_key():
    key = ("Signed-By:\n"
           " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
           " .\n"
           " mDMEZXhhbXBsZQ==\n"
           " -----END PGP PUBLIC KEY BLOCK-----\n")
    sources = ("Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\n"
               "Components: main\nEnabled: no\n\n"
               "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n"
               "Components: main\n\n"
               "Types: deb deb-src\nURIs: http://on.example/debian\nSuites: bookworm\n"
               "Components: main contrib\nArchitectures: amd64 arm64\n" + key)
    with AptRoot({"sources.list.d/a.sources": sources}) as root:
        p = backports_source(root, "bookworm")
        assert p.returncode == 0, p
        out = written(root)["bookworm-backports.sources"]
    assert out == ("Types: deb\nURIs: http://on.example/debian\nSuites: bookworm-backports\n"
                   "Components: main\nArchitectures: amd64 arm64\n" + key)


def test_backports_already_configured_writes_nothing():
    for files in ({"sources.list": "deb http://m.example/debian bookworm main\n",
                   "sources.list.d/bp.list": "deb http://m.example/debian bookworm-backports main\n"},
                  {"sources.list": "deb http://m.example/debian bookworm main\n",
                   "sources.list.d/d.sources": "Types: deb\nURIs: http://m.example/debian\n"
                   "Suites: bookworm bookworm-backports\nComponents: main\n"}):
        with AptRoot(files) as root:
            before = written(root)
            p = backports_source(root, "bookworm")
            assert p.returncode == 0 and "already configured" in p.stdout, p
            assert written(root) == before


def test_commented_or_disabled_backports_do_not_count():
    files = {"sources.list": "deb http://m.example/debian bookworm main\n"
                             "# deb http://m.example/debian bookworm-backports main\n",
             "sources.list.d/bp.list.disabled": "deb http://m.example/debian bookworm-backports main\n"}
    with AptRoot(files) as root:
        p = backports_source(root, "bookworm")
        assert p.returncode == 0, p
        assert written(root)["bookworm-backports.list"] == \
            "deb http://m.example/debian bookworm-backports main\n"


def test_no_bookworm_source_fails_with_one_line_and_writes_nothing():
    files = {"sources.list": "deb http://m.example/debian trixie main\n"
                             "deb http://m.example/debian-security bookworm-security main\n"}
    with AptRoot(files) as root:
        p = backports_source(root, "bookworm")
        assert p.returncode == 1 and p.stdout == "", p
        assert p.stderr.count("\n") == 1 and "no enabled deb source for bookworm" in p.stderr, p
        assert written(root) == {}
    p = backports_source("/nonexistent-ebt-apt-root")
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p


def test_makefile_names_no_mirror_host():
    with open(os.path.join(ROOT, "Makefile")) as f:
        makefile = f.read()
    assert "scripts/backports-source /etc/apt bookworm" in makefile
    assert "http://" not in makefile and "https://" not in makefile
