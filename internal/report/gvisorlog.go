package report

import (
	"fmt"
	"strings"
)

// LogLine is one distinct "Unsupported syscall" report found in gVisor's
// logs, judged: known harmless (with where that is known from), supported
// by the target gVisor (the log came from an older one), or worth a look.
type LogLine struct {
	Syscall string `json:"syscall"`
	Key     string `json:"key,omitempty"`
	Count   int    `json:"count"`
	Verdict string `json:"verdict"`
	Why     string `json:"why"`
	Source  string `json:"source,omitempty"`
	Example string `json:"example,omitempty"`
}

// Log line verdicts.
const (
	LogHarmless      = "harmless"
	LogSupportedNow  = "supported-now"
	LogNeedsALook    = "needs-a-look"
	maxExampleLength = 160
)

// Title names the report as gVisor keys it: "setsockopt(SOL_TCP,TCP_DEFER_ACCEPT)".
func (l LogLine) Title() string {
	if l.Key == "" {
		return l.Syscall
	}
	return l.Syscall + "(" + l.Key + ")"
}

// TrimExample shortens a quoted log line.
func TrimExample(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxExampleLength {
		s = s[:maxExampleLength-1] + "…"
	}
	return s
}

func logSummary(ls []LogLine) string {
	n, harmless, now, look := 0, 0, 0, 0
	for _, l := range ls {
		n += l.Count
		switch l.Verdict {
		case LogHarmless:
			harmless++
		case LogSupportedNow:
			now++
		default:
			look++
		}
	}
	return fmt.Sprintf("%s of gVisor's in the log, %s: %d known harmless, %d supported by the target, %d worth a look",
		Plural(n, "unsupported-syscall report"), Plural(len(ls), "distinct one"), harmless, now, look)
}
