# Sourced by the interop scripts; they set B (build directory) and W (work directory with www/ and certs/).

wait_ready() { # LOG WORD: until LOG holds WORD (or 5 s)
    n=0
    while [ $n -lt 50 ]; do
        grep -q "$2" "$1" 2> /dev/null && return 0
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

start_server() { # PORT LOG FLAGS...: lwquic-server on 127.0.0.1:PORT serving $W/www; sets server_pid
    sport=$1 slog=$2
    shift 2
    "$B/bin/lwquic-server" --listen "127.0.0.1:$sport" --root "$W/www" --cert "$W/certs/server.pem" \
        --key "$W/certs/server.key" "$@" 2> "$slog" &
    server_pid=$!
    wait_ready "$slog" serving
}
