package launch

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseReady reads a --ready value: comma-separated conditions, each
// "port:N" (or a bare port number) for a TCP port on 127.0.0.1 accepting
// connections, "file:PATH" for a file appearing, "delay:DURATION" (or a
// bare duration such as 2s) for time passing. All must hold.
func ParseReady(spec string) (Ready, error) {
	var r Ready
	if strings.TrimSpace(spec) == "" {
		return r, fmt.Errorf("empty readiness condition (want port:N, file:PATH or delay:DURATION)")
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		kind, val, ok := strings.Cut(part, ":")
		if !ok {
			switch {
			case isDigits(part):
				kind, val = "port", part
			default:
				kind, val = "delay", part
			}
		}
		switch kind {
		case "port", "tcp":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 65535 {
				return Ready{}, fmt.Errorf("readiness %q: port must be 1..65535", part)
			}
			if r.Port != 0 {
				return Ready{}, fmt.Errorf("readiness %q: only one port", part)
			}
			r.Port = n
		case "file":
			if val == "" || strings.ContainsRune(val, 0) {
				return Ready{}, fmt.Errorf("readiness %q: no file name", part)
			}
			if r.File != "" {
				return Ready{}, fmt.Errorf("readiness %q: only one file", part)
			}
			r.File = val
		case "delay":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 {
				return Ready{}, fmt.Errorf("readiness %q: want a duration such as 500ms or 2s", part)
			}
			r.Delay = max(r.Delay, d)
		default:
			return Ready{}, fmt.Errorf("readiness %q: unknown condition %q (want port:N, file:PATH or delay:DURATION)", part, kind)
		}
	}
	return r, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// String is the ParseReady form.
func (r Ready) String() string {
	var parts []string
	if r.Port != 0 {
		parts = append(parts, "port:"+strconv.Itoa(r.Port))
	}
	if r.File != "" {
		parts = append(parts, "file:"+r.File)
	}
	if r.Delay != 0 {
		parts = append(parts, "delay:"+r.Delay.String())
	}
	return strings.Join(parts, ",")
}
