#!/bin/sh
# Each check prints "ok <name>" or "not ok <name>"; the run fails on any failure.
program=$1
failed=0

check() {
    name=$1 expected=$2
    shift 2
    actual=$("$@")
    if [ "$actual" = "$expected" ]; then
        echo "ok $name"
    else
        echo "not ok $name: expected '$expected', got '$actual'"
        failed=1
    fi
}

check default-name "Hello, world!" "$program"
check given-name "Hello, Ada!" "$program" Ada
check version "hello $(cat VERSION)" "$program" --version
check long-name-truncated 255 sh -c "\"$program\" $(printf 'x%.0s' $(seq 1 400)) | tr -d '\n' | wc -c"
exit $failed
