# bash completion for mibandctl(1)
#
# Install: copy to /usr/share/bash-completion/completions/mibandctl, or
# source it from ~/.bashrc.  Needs nothing but bash (bash-completion's
# helpers are not required).

_mibandctl_devices()
{
	local dir=${XDG_CONFIG_HOME:-$HOME/.config}/miband/keys f
	echo emu
	[ -d "$dir" ] || return 0
	for f in "$dir"/*; do
		[ -f "$f" ] && [ "${f##*/}" != emu ] && echo "${f##*/}"
	done
}

_mibandctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="scan pair auth info battery steps time hr alert events config keys sync export stats help"
	local global="--device --adapter --model --key --json --verbose --timeout
		--trace --trace-secrets --emu-pairing --help --version"
	local config_keys="display-items time-format date-format date-display wrist
		goal goal-notification dnd night-mode lift-to-wake rotate-wrist
		display-caller distance-unit screen-unlock user"
	local i w cmd= args=() skip=
	local IFS=$' \t\n'

	# option values
	case $prev in
	-d | --device)
		COMPREPLY=($(compgen -W "$(_mibandctl_devices)" -- "$cur"))
		return
		;;
	--model)
		COMPREPLY=($(compgen -W "mb2 mb3 mb4 mb5 mb6" -- "$cur"))
		return
		;;
	--emu-pairing)
		COMPREPLY=($(compgen -W "accept decline never" -- "$cur"))
		return
		;;
	--adapter)
		COMPREPLY=($(compgen -W "$(ls /sys/class/bluetooth 2>/dev/null)" -- "$cur"))
		return
		;;
	--trace)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--format)
		COMPREPLY=($(compgen -W "csv jsonl" -- "$cur"))
		return
		;;
	--db)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--key | --band | --timeout | -t | --set | --alias | --since | --from | --to)
		return
		;;
	esac

	# the command and its arguments so far (options and their values skipped)
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ -n "$skip" ]; then
			skip=
			continue
		fi
		case $w in
		-d | --device | --adapter | --model | --key | -t | --timeout | --trace | \
			--emu-pairing | --set | --alias | --since | --db | --format | \
			--from | --to | --band)
			skip=1
			;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then cmd=$w; else args+=("$w"); fi
			;;
		esac
	done

	if [[ $cur == -* ]]; then
		local extra=
		case $cmd in
		pair) extra="--new-key --alias" ;;
		steps | hr | events) extra="--follow" ;;
		time) extra="--sync --set" ;;
		keys) extra="--alias --force" ;;
		sync) extra="--since --keep-on-band --db" ;;
		export) extra="--format --from --to --band --db" ;;
		stats) extra="--from --to --band --utc --db" ;;
		esac
		COMPREPLY=($(compgen -W "$global $extra" -- "$cur"))
		return
	fi

	case $cmd in
	"")
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		;;
	help)
		[ ${#args[@]} -eq 0 ] && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		;;
	alert)
		[ ${#args[@]} -eq 0 ] && COMPREPLY=($(compgen -W "call text vibrate stop" -- "$cur"))
		;;
	keys)
		if [ ${#args[@]} -eq 0 ]; then
			COMPREPLY=($(compgen -W "list import forget" -- "$cur"))
		elif [ ${#args[@]} -eq 1 ] && [ "${args[0]}" = forget ]; then
			COMPREPLY=($(compgen -W "$(_mibandctl_devices)" -- "$cur"))
		fi
		;;
	config)
		if [ ${#args[@]} -eq 0 ]; then
			COMPREPLY=($(compgen -W "$config_keys" -- "$cur"))
		elif [ ${#args[@]} -eq 1 ]; then
			local values=
			case ${args[0]} in
			time-format) values="12 24" ;;
			date-format) values="dd.MM.yyyy MM/dd/yyyy yyyy-MM-dd" ;;
			wrist) values="left right" ;;
			dnd) values="off auto 22:00-07:00" ;;
			night-mode) values="off sunset 20:00-07:00" ;;
			distance-unit) values="metric imperial" ;;
			display-items) values="none all notifications weather activity more status heart-rate timer nfc" ;;
			date-display | goal-notification | lift-to-wake | rotate-wrist | \
				display-caller | screen-unlock) values="on off" ;;
			user) values="born=YYYY-MM-DD,sex=female,height=CM,weight=KG" ;;
			esac
			COMPREPLY=($(compgen -W "$values" -- "$cur"))
		fi
		;;
	esac
}

complete -F _mibandctl mibandctl
