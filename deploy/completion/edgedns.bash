# bash completion for edgedns(1): commands, subcommands, options, and files where an option or
# argument names one. Written by hand from src/cli/index.ts; needs nothing from bash-completion.
# Installed as share/bash-completion/completions/edgedns; or: source deploy/completion/edgedns.bash

# Files (or folders with -d) matching the word; one per line, so that names with spaces survive.
_edgedns_files() {
  local IFS=$'\n'
  COMPREPLY=($(compgen "${1:--f}" -- "$cur"))
  compopt -o filenames 2>/dev/null
}

_edgedns() {
  local cur prev words cword
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  words=("${COMP_WORDS[@]}")
  cword=$COMP_CWORD

  # The command path: the words before the cursor that are not options or option values.
  local admin='-c --config --admin-socket --admin --token-file'
  local takes_value=' -c --config --listen --dot --doh --tls-cert --tls-key --zones --upstream --allow-recursion --site-id --admin --admin-socket --workers --token-file --remove --for --reason --target --rate --duration --name --json '
  local path=() i w
  for ((i = 1; i < cword; i++)); do
    w=${words[i]}
    case $w in
      -*) [[ $takes_value == *" $w "* && $w != *=* ]] && ((i++)) ;;
      *) path+=("$w") ;;
    esac
  done

  # Values of options.
  case $prev in
    -c | --config | --token-file | --json | --tls-cert | --tls-key)
      _edgedns_files; return ;;
    --admin-socket)
      _edgedns_files; [[ off == "$cur"* ]] && COMPREPLY+=(off); return ;;
    --zones)
      _edgedns_files -d; return ;;
    --admin)
      COMPREPLY=($(compgen -W '127.0.0.1:9153 off' -- "$cur")); return ;;
    --listen | --dot | --doh | --upstream | --allow-recursion | --site-id | --workers | --remove | --for | --reason | --target | --rate | --duration | --name)
      return ;;
  esac

  local words_here
  case "${path[*]}" in
    '') words_here='serve zone config status reload cache drain undrain drill announce guard help -V --version -h --help' ;;
    serve) words_here='-c --config --listen --dot --doh --tls-cert --tls-key --zones --upstream --allow-recursion --authoritative-only --site-id --admin --admin-socket --workers -h --help' ;;
    zone) words_here='print check status refresh -h --help' ;;
    'zone status') words_here="$admin --json -h --help" ;;
    'zone refresh' | 'zone refresh '*) words_here="$admin -h --help" ;;
    'zone print' | 'zone print '*)
      [[ $cur == -* ]] && words_here='--generic -h --help' || { _edgedns_files; return; } ;;
    'zone check' | 'zone check '* | 'config check' | 'config check '*)
      [[ $cur == -* ]] && words_here='-h --help' || { _edgedns_files; return; } ;;
    config) words_here='check -h --help' ;;
    status) words_here="$admin --json --fleet -h --help" ;;
    reload) words_here="$admin --remove -h --help" ;;
    cache) words_here='flush -h --help' ;;
    'cache flush'*) words_here="$admin -h --help" ;;
    drain) words_here="$admin --for --reason -h --help" ;;
    undrain) words_here="$admin -h --help" ;;
    drill) words_here='fail stream -h --help' ;;
    'drill fail') words_here="$admin --for -h --help" ;;
    'drill stream') words_here='--target --rate --duration --name --json -h --help' ;;
    announce) words_here='announce withdraw -c --config -h --help' ;;
    'announce announce' | 'announce withdraw') words_here='-c --config -h --help' ;;
    guard) words_here='-c --config -h --help' ;;
    help) words_here='serve zone config status reload cache drain undrain drill announce guard' ;;
    *) return ;;
  esac
  COMPREPLY=($(compgen -W "$words_here" -- "$cur"))
}

complete -F _edgedns edgedns
