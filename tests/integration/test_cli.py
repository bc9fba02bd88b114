"""The command line as a whole: the subcommand list, man pages and bash completion agree."""
import os
import re
import subprocess

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
