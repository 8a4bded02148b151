package container

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/image"
)

// User is a resolved container user.
type User struct {
	UID, GID uint32
	Groups   []uint32
	Home     string
}

// LookupUser resolves a user specification as runc does (its
// user.GetExecUser): "", "NAME", "UID", with ":GROUP" or ":GID", against
// the image's /etc/passwd and /etc/group. A numeric user the files lack
// runs with group 0 and home "/"; a name they lack is an error.
// Supplementary groups are those /etc/group lists the user in.
func LookupUser(r *image.Rootfs, spec string) (User, error) {
	u := User{Home: "/"}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	passwd, _ := r.ReadFile("/etc/passwd")
	group, _ := r.ReadFile("/etc/group")
	uid, numeric := parseID(userPart)
	name := ""
	found := false
	for _, f := range records(passwd, 7) {
		id, ok := parseID(f[2])
		if !ok {
			continue
		}
		if f[0] == userPart || numeric && id == uid {
			gid, _ := parseID(f[3])
			u.UID, u.GID, u.Home, name, found = id, gid, f[5], f[0], true
			break
		}
	}
	if !found {
		if !numeric {
			return u, fmt.Errorf("user %q is not in the image's /etc/passwd", userPart)
		}
		u.UID = uid
	}
	if hasGroup && groupPart != "" {
		gid, ok := parseID(groupPart)
		matched := false
		for _, f := range records(group, 4) {
			id, idOK := parseID(f[2])
			if idOK && (f[0] == groupPart || ok && id == gid) {
				u.GID, matched = id, true
				break
			}
		}
		if !matched {
			if !ok {
				return u, fmt.Errorf("group %q is not in the image's /etc/group", groupPart)
			}
			u.GID = gid
		}
	}
	if name != "" {
		for _, f := range records(group, 4) {
			id, ok := parseID(f[2])
			if !ok {
				continue
			}
			for _, m := range strings.Split(f[3], ",") {
				if strings.TrimSpace(m) == name && id != u.GID {
					u.Groups = append(u.Groups, id)
				}
			}
		}
	}
	if u.Home == "" {
		u.Home = "/"
	}
	return u, nil
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	return uint32(n), err == nil
}

// records splits colon-separated lines with at least n fields.
func records(b []byte, n int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < n {
			continue
		}
		out = append(out, f)
	}
	return out
}
