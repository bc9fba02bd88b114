"""The command line as a whole: the subcommand list, man pages and bash completion agree."""
import glob
import os
import re
import subprocess
import tempfile

from lib import BINARY, ROOT, run
import lib


def subcommands():
    out = run(["help"]).stdout.decode()
    section = out.split("Subcommands:\n", 1)[1]
    return [m.group(1) for m in re.finditer(r"^  (\S+) ", section, re.M)]


def complete(words):
    """What the bash completion offers for the command line `words` (the last one is current)."""
    script = (f'source "{ROOT}/completions/ebpftrace.bash"; '
              f'COMP_WORDS=({" ".join(repr(w) for w in words)}); '
              f'COMP_CWORD={len(words) - 1}; _ebpftrace; printf "%s\\n" "${{COMPREPLY[@]}}"')
    env = dict(os.environ, PATH=os.path.dirname(lib.BINARY) + ":" + os.environ["PATH"])
    out = subprocess.run(["bash", "-c", script], capture_output=True, env=env, check=True)
    return set(out.stdout.decode().split())


def test_every_subcommand_has_a_man_page_and_is_in_the_main_page():
    subs = subcommands()
    assert "exec" in subs
    with open(os.path.join(ROOT, "man", "ebpftrace.8")) as f:
        main_page = f.read()
    for sub in subs:
        assert os.path.exists(os.path.join(ROOT, "man", f"ebpftrace-{sub}.8")), sub
        assert f".B {sub}\n" in main_page, f"{sub} missing from man/ebpftrace.8"
        assert f"ebpftrace\\-{sub} (8)" in main_page, f"{sub} missing from SEE ALSO"


def test_completion_offers_exactly_the_subcommands():
    got = complete([BINARY, ""])
    assert got == set(subcommands()) | {"help", "check", "--version", "--help"}, got


def test_completion_offers_every_long_option_of_each_subcommand():
    for sub in subcommands():
        helptext = run([sub, "--help"]).stdout.decode()
        longs = set(re.findall(r"^\s+(?:-\w, )?(--[a-z0-9-]+)", helptext, re.M))
        got = complete([BINARY, sub, "--"])
        assert longs and longs <= got, (sub, longs - got)


def test_completion_of_help_argument():
    assert complete([BINARY, "help", "ex"]) == {"exec", "exit"}


def help_options(sub):
    """(own, common) options of a subcommand, as its --help lists them: long and short."""
    text = run([sub, "--help"]).stdout.decode()
    own_text, _, rest = text.partition("\n Common options:\n")
    common_text = rest.split("\n\n", 1)[0]

    def options(part):
        found = set()
        for m in re.finditer(r"^\s+(?:(-\w), )?(--[a-z0-9-]+)", part, re.M):
            found |= {o for o in m.groups() if o}
        return found - {"--help", "-?", "--usage"}
    return options(own_text), options(common_text)


def man_text(name):
    with open(os.path.join(ROOT, "man", f"{name}.8")) as f:
        return f.read()


def documented(option, page):
    """The option as a man page writes it: \\-\\-name or \\-x, not followed by more name."""
    escaped = re.escape(option.replace("-", "\\-"))
    return re.search(escaped + r"(?![a-zA-Z0-9]|\\-[a-z])", page) is not None


def test_every_option_is_in_its_man_page():
    main_page = man_text("ebpftrace")
    for sub in subcommands():
        own, common = help_options(sub)
        page = man_text(f"ebpftrace-{sub}")
        assert common, sub  # the --help text was parsed
        missing = [o for o in sorted(own) if not documented(o, page)]
        assert not missing, f"man/ebpftrace-{sub}.8 does not document {missing}"
        missing = [o for o in sorted(common) if not documented(o, main_page)]
        assert not missing, f"man/ebpftrace.8 does not document the common options {missing}"


def test_man_pages_are_lint_clean():
    pages = sorted(glob.glob(os.path.join(ROOT, "man", "*.8")))
    assert len(pages) == len(subcommands()) + 1, pages
    for page in pages:
        lint = subprocess.run(["mandoc", "-Tlint", "-W", "warning", page], capture_output=True)
        assert lint.returncode == 0 and not lint.stdout + lint.stderr, (page, lint.stdout)
        groff = subprocess.run(["groff", "-ww", "-z", "-man", page], capture_output=True)
        assert groff.returncode == 0 and not groff.stderr, (page, groff.stderr)


def methods_of(sub):
    """The --method values a subcommand takes, from its own usage error ([] if it has none)."""
    p = run([sub, "--method", "no-such-method"])
    m = re.search(rb"expected one of (.*)\n", p.stderr)
    return m.group(1).decode().split(", ") if m else []


def test_completion_of_values_follows_the_binary():
    assert complete([BINARY, "exe"]) == {"exec"}
    assert complete([BINARY, "kill", "--signal", "TE"]) == {"TERM"}
    assert complete([BINARY, "kill", "-s", "HUP,US"]) == {"HUP,USR1", "HUP,USR2"}
    assert complete([BINARY, "check", "tcpc"]) == {"tcpconnlat"}
    assert "--json" in complete([BINARY, "check", "--"])
    assert str(os.getpid()) in complete([BINARY, "open", "--pid", str(os.getpid())[:2]])
    assert complete([BINARY, "open", "--cgroup", "/sys/fs/cgro"]) == {"/sys/fs/cgroup"}
    # -o/--output takes a file name, in every subcommand (memleak's --older has no -o)
    with tempfile.TemporaryDirectory(prefix="ebt-cli-") as d:
        open(os.path.join(d, "records.json"), "w").close()
        for sub in ("exec", "memleak", "tc"):
            for opt in ("-o", "--output"):
                assert complete([BINARY, sub, opt, d + "/rec"]) == {d + "/records.json"}, sub
    with_methods = 0
    for sub in subcommands():
        methods = methods_of(sub)
        if methods:
            with_methods += 1
            assert complete([BINARY, sub, "--method", ""]) == set(methods), sub
    assert with_methods >= 4, "no subcommand reports its --method values"


def test_completion_of_tc_offers_the_interfaces_of_its_namespace():
    ns = f"ebpftrace-compl-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "etcompl0", "type", "veth", "peer", "name",
                        "etcompl1"], check=True)
        script = (f'source "{ROOT}/completions/ebpftrace.bash"; '
                  f'COMP_WORDS=(ebpftrace tc etc); COMP_CWORD=2; _ebpftrace; '
                  f'printf "%s\\n" "${{COMPREPLY[@]}}"')
        env = dict(os.environ, PATH=os.path.dirname(lib.BINARY) + ":" + os.environ["PATH"])
        out = subprocess.run(["ip", "netns", "exec", ns, "bash", "-c", script],
                             capture_output=True, env=env, check=True, timeout=30)
        assert set(out.stdout.decode().split()) == {"etcompl0", "etcompl1"}, out
    finally:
        subprocess.run(["ip", "netns", "del", ns])
