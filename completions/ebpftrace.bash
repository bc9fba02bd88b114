# bash completion for ebpftrace. Options are read from `ebpftrace <subcommand> --help`, so they
# never go stale; the subcommand list is checked against `ebpftrace help` by the tests.

_ebpftrace_subcommands="exec"
_ebpftrace_builtins="help check"

# Long and short options from a subcommand's --help.
_ebpftrace_options()
{
	"$1" "$2" --help 2>/dev/null |
		sed -nE 's/^ +-([a-zA-Z]), (--[a-z0-9-]+).*/-\1\n\2/p; s/^ +(--[a-z0-9-]+).*/\1/p'
}

# Values of options that take a fixed set of words or a kind of path.
_ebpftrace_values()
{
	local sub=$1 opt=$2 cur=$3
	case "$opt" in
	-c | --cgroup)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "${cur:-/sys/fs/cgroup/}"))
		return 0
		;;
	-p | --pid | -P | --ppid | -t | --tid)
		COMPREPLY=($(compgen -W "$(ls /proc | grep -E '^[0-9]+$')" -- "$cur"))
		return 0
		;;
	-u | --uid)
		COMPREPLY=($(compgen -W "$(cut -d: -f3 /etc/passwd)" -- "$cur"))
		return 0
		;;
	-n | --name)
		COMPREPLY=($(compgen -W "$(cat /proc/[0-9]*/comm 2>/dev/null | sort -u)" -- "$cur"))
		return 0
		;;
	-d | --duration | --count | --max-args | --ringbuf-size | -l | --line)
		return 0
		;;
	esac
	return 1
}

_ebpftrace()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd=${COMP_WORDS[0]} sub=${COMP_WORDS[1]:-}

	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$_ebpftrace_subcommands $_ebpftrace_builtins --version --help" -- "$cur"))
		return
	fi
	case "$sub" in
	help)
		[ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "$_ebpftrace_subcommands" -- "$cur"))
		return
		;;
	check)
		COMPREPLY=($(compgen -W "--json" -- "$cur"))
		return
		;;
	esac
	_ebpftrace_values "$sub" "$prev" "$cur" && return
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_ebpftrace_options "$cmd" "$sub")" -- "$cur"))
	fi
}

complete -F _ebpftrace ebpftrace
