# bash completion for ebpftrace. Options are read from `ebpftrace <subcommand> --help`, so they
# never go stale; the subcommand list is checked against `ebpftrace help` by the tests.

_ebpftrace_subcommands="exec runqlat tcpconnlat memleak kill open lsm-block tc exit tcpstates softirqs hardirqs bashreadline tcprtt biopattern argdist"
_ebpftrace_builtins="help check"

# Long and short options from a subcommand's --help.
_ebpftrace_options()
{
	"$1" "$2" --help 2>/dev/null |
		sed -nE 's/^ +-([a-zA-Z0-9]), (--[a-z0-9-]+).*/-\1\n\2/p; s/^ +(--[a-z0-9-]+).*/\1/p'
}

# The methods a subcommand takes, from its own error message for one it does not.
_ebpftrace_methods()
{
	"$1" "$2" --method '?' 2>&1 | sed -nE 's/.*expected one of //p' | tr -d ','
}

# memleak's own: -c runs a command (not --cgroup), -O names a library file.
_ebpftrace_memleak_values()
{
	local opt=$1 cur=$2
	case "$opt" in
	-c | --command)
		COMPREPLY=($(compgen -c -- "$cur"))
		;;
	-O | --obj)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	--symbol-prefix | --top | --older | -s | --sample | -z | --min-size | -Z | --max-size | \
		--max-allocs | --max-stacks) ;;
	*) return 1 ;;
	esac
	return 0
}

# One more word of a comma-separated list (-s TERM,KI<tab>): complete the last item.
_ebpftrace_list()
{
	local words=$1 cur=$2 pre=
	[[ $cur == *,* ]] && pre=${cur%,*},
	compopt -o nospace 2>/dev/null
	COMPREPLY=($(compgen -P "$pre" -W "$words" -- "${cur##*,}"))
}

# tc's own: DEV is a network interface, -w a file; the rest take free-form values.
_ebpftrace_tc_values()
{
	local opt=$1 cur=$2
	case "$opt" in
	-w | --write)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	--attach)
		COMPREPLY=($(compgen -W "tcx clsact" -- "$cur"))
		;;
	--proto)
		COMPREPLY=($(compgen -W "tcp udp icmp icmpv6 sctp" -- "$cur"))
		;;
	--sample | --snaplen | --stats | --top | --drop | --host | --port) ;;
	*) return 1 ;;
	esac
	return 0
}

# kill's -s and open's --flags take lists of names.
_ebpftrace_name_lists()
{
	local sub=$1 opt=$2 cur=$3
	if [ "$sub" = kill ] && [[ $opt == -s || $opt == --signal ]]; then
		_ebpftrace_list "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM
			STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS
			RTMIN RTMAX" "$cur"
	elif [ "$sub" = open ] && [ "$opt" = --flags ]; then
		_ebpftrace_list "O_RDONLY O_WRONLY O_RDWR O_CREAT O_EXCL O_NOCTTY O_TRUNC O_APPEND
			O_NONBLOCK O_SYNC O_DSYNC O_ASYNC O_DIRECT O_LARGEFILE O_TMPFILE O_DIRECTORY
			O_NOFOLLOW O_NOATIME O_CLOEXEC O_PATH" "$cur"
	else
		return 1
	fi
}

# How many of argdist's FUNCTION ARG [interval [count]] come before the current word.
_ebpftrace_argdist_positionals()
{
	local i n=0 word
	for ((i = 2; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case "$word" in
		-p | -t | -u | -n | -c | -d | --pid | --tid | --uid | --name | --cgroup | --duration | \
			--linear | --method | --metrics | --metrics-max-series | --ringbuf-size | --count)
			i=$((i + 1)) ;;
		-*) ;;
		*) n=$((n + 1)) ;;
		esac
	done
	echo "$n"
}

# Values of options that take a fixed set of words or a kind of path.
_ebpftrace_values()
{
	local cmd=$1 sub=$2 opt=$3 cur=$4
	# runqlat's -P and -L are flags (per process, per thread), not --ppid or --lport; argdist's -P.
	[ "$sub" = runqlat ] && [[ $opt == -P || $opt == -L ]] && return 1
	[ "$sub" = argdist ] && [ "$opt" = -P ] && return 1
	[ "$sub" = memleak ] && _ebpftrace_memleak_values "$opt" "$cur" && return 0
	[ "$sub" = tc ] && _ebpftrace_tc_values "$opt" "$cur" && return 0
	# memleak's -t is a flag (--trace), not --tid.
	[ "$sub" = memleak ] && [ "$opt" = -t ] && return 1
	_ebpftrace_name_lists "$sub" "$opt" "$cur" && return 0
	case "$opt" in
	--by)
		[ "$sub" = tcprtt ] && COMPREPLY=($(compgen -W "laddr raddr lport rport" -- "$cur"))
		return 0
		;;
	--shell)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	-c | --cgroup)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "${cur:-/sys/fs/cgroup/}"))
		return 0
		;;
	-p | --pid | -P | --ppid | -t | --tid | --target)
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
	-d | --duration | --count | --max-args | --ringbuf-size | -l | --line | --deny-connect | \
		--metrics | --metrics-max-series | --linear)
		return 0
		;;
	-f | --file | --deny-exec | --deny-open | -o | --output)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--method)
		COMPREPLY=($(compgen -W "$(_ebpftrace_methods "$cmd" "$sub")" -- "$cur"))
		return 0
		;;
	-L | --lport | --dport | --saddr | --daddr)
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
		COMPREPLY=($(compgen -W "--json $_ebpftrace_subcommands" -- "$cur"))
		return
		;;
	esac
	_ebpftrace_values "$cmd" "$sub" "$prev" "$cur" && return
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_ebpftrace_options "$cmd" "$sub")" -- "$cur"))
	elif [ "$sub" = tc ]; then
		COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur"))
	elif [ "$sub" = argdist ] && [ "$(_ebpftrace_argdist_positionals)" -eq 1 ]; then
		# After the function: which of its values (a parameter's name works too).
		COMPREPLY=($(compgen -W "arg0 arg1 arg2 arg3 arg4 arg5 ret" -- "$cur"))
	fi
}

complete -F _ebpftrace ebpftrace
