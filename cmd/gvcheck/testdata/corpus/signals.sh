# Handlers, ignored and blocked signals, and a child killed by a signal.
trap 'echo got USR1' USR1
kill -USR1 $$
trap '' TERM
kill -TERM $$
echo still here
sh -c 'kill -KILL $$'
echo "child status $?"
( trap - INT; kill -INT $BASHPID 2>/dev/null || kill -INT $$ ) ; echo "after int $?"
