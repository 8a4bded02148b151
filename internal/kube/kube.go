// Package kube reads Kubernetes workload manifests (Pod, Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job, CronJob; YAML, several objects
// per file) and turns each container into the runtime settings that decide
// how it fares under a gVisor runtime class (imagecheck.Settings): added
// capabilities, privileged mode, the host's network, PID and IPC
// namespaces, host paths, seccomp and AppArmor profiles.
package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gvcheck/gvcheck/internal/imagecheck"
)

// Container is one container of a workload.
type Container struct {
	// Workload is "Kind/name" (with the namespace when given: ns/Kind/name).
	Workload string
	Name     string
	Image    string
	// Init is set for init containers.
	Init bool
	// RunAsUser is the container's securityContext user (or the pod's),
	// nil if unset.
	RunAsUser *int64
	CapDrop   []string
	Settings  imagecheck.Settings
}

// Title names the container as reports show it.
func (c Container) Title() string {
	kind := "container"
	if c.Init {
		kind = "init container"
	}
	return fmt.Sprintf("%s %s %s", c.Workload, kind, c.Name)
}

var workloadKind = regexp.MustCompile(`(?m)^kind:\s*["']?(Pod|Deployment|StatefulSet|DaemonSet|ReplicaSet|Job|CronJob|List)["']?\s*$`)

// Sniff reports whether data looks like a Kubernetes workload manifest.
func Sniff(data []byte) bool { return workloadKind.Match(data) }

type meta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Annotations map[string]string `yaml:"annotations"`
}

type profileRef struct {
	Type             string `yaml:"type"`
	LocalhostProfile string `yaml:"localhostProfile"`
}

type securityContext struct {
	Privileged   *bool `yaml:"privileged"`
	Capabilities *struct {
		Add  []string `yaml:"add"`
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
	SeccompProfile  *profileRef `yaml:"seccompProfile"`
	AppArmorProfile *profileRef `yaml:"appArmorProfile"`
	RunAsUser       *int64      `yaml:"runAsUser"`
}

type container struct {
	Name            string           `yaml:"name"`
	Image           string           `yaml:"image"`
	SecurityContext *securityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type podSpec struct {
	HostNetwork     bool             `yaml:"hostNetwork"`
	HostPID         bool             `yaml:"hostPID"`
	HostIPC         bool             `yaml:"hostIPC"`
	SecurityContext *securityContext `yaml:"securityContext"`
	Containers      []container      `yaml:"containers"`
	InitContainers  []container      `yaml:"initContainers"`
	Volumes         []struct {
		Name     string `yaml:"name"`
		HostPath *struct {
			Path string `yaml:"path"`
			Type string `yaml:"type"`
		} `yaml:"hostPath"`
	} `yaml:"volumes"`
}

type template struct {
	Metadata meta    `yaml:"metadata"`
	Spec     podSpec `yaml:"spec"`
}

type object struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   meta        `yaml:"metadata"`
	Items      []yaml.Node `yaml:"items"`
	Spec       yaml.Node   `yaml:"spec"`
}

// Parse reads every workload object of a manifest (multi-document YAML, or
// a List) and returns its containers in order. Objects of other kinds are
// skipped (their kinds are returned, for a note).
func Parse(r io.Reader) ([]Container, []string, error) {
	dec := yaml.NewDecoder(r)
	var out []Container
	var skipped []string
	for i := 1; ; i++ {
		var obj object
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("manifest document %d: %w", i, err)
		}
		cs, sk, err := fromObject(obj)
		if err != nil {
			return nil, nil, fmt.Errorf("manifest document %d (%s %s): %w", i, obj.Kind, obj.Metadata.Name, err)
		}
		out = append(out, cs...)
		skipped = append(skipped, sk...)
	}
	return out, skipped, nil
}

func fromObject(obj object) ([]Container, []string, error) {
	var spec podSpec
	var tmeta meta
	switch obj.Kind {
	case "":
		return nil, nil, nil // an empty document
	case "List":
		var out []Container
		var skipped []string
		for _, n := range obj.Items {
			var item object
			if err := n.Decode(&item); err != nil {
				return nil, nil, err
			}
			cs, sk, err := fromObject(item)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, cs...)
			skipped = append(skipped, sk...)
		}
		return out, skipped, nil
	case "Pod":
		if err := obj.Spec.Decode(&spec); err != nil {
			return nil, nil, err
		}
		tmeta = obj.Metadata
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		var s struct {
			Template template `yaml:"template"`
		}
		if err := obj.Spec.Decode(&s); err != nil {
			return nil, nil, err
		}
		spec, tmeta = s.Template.Spec, s.Template.Metadata
	case "CronJob":
		var s struct {
			JobTemplate struct {
				Spec struct {
					Template template `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		}
		if err := obj.Spec.Decode(&s); err != nil {
			return nil, nil, err
		}
		spec, tmeta = s.JobTemplate.Spec.Template.Spec, s.JobTemplate.Spec.Template.Metadata
	default:
		return nil, []string{obj.Kind}, nil
	}
	workload := obj.Kind + "/" + obj.Metadata.Name
	if obj.Metadata.Namespace != "" {
		workload = obj.Metadata.Namespace + "/" + workload
	}
	annotations := map[string]string{}
	for k, v := range obj.Metadata.Annotations {
		annotations[k] = v
	}
	for k, v := range tmeta.Annotations {
		annotations[k] = v
	}
	var out []Container
	for _, group := range []struct {
		cs   []container
		init bool
	}{{spec.InitContainers, true}, {spec.Containers, false}} {
		for _, c := range group.cs {
			out = append(out, containerOf(workload, spec, annotations, c, group.init))
		}
	}
	if len(out) == 0 {
		return nil, nil, errors.New("no containers")
	}
	return out, nil, nil
}

func containerOf(workload string, spec podSpec, annotations map[string]string, c container, init bool) Container {
	k := Container{Workload: workload, Name: c.Name, Image: c.Image, Init: init}
	s := &k.Settings
	s.HostNetwork, s.HostPID, s.HostIPC = spec.HostNetwork, spec.HostPID, spec.HostIPC
	pod, ctr := spec.SecurityContext, c.SecurityContext
	if pod != nil {
		k.RunAsUser = pod.RunAsUser
		s.Seccomp = seccompName(pod.SeccompProfile)
		s.AppArmor = appArmorName(pod.AppArmorProfile)
	}
	if ctr != nil {
		if ctr.RunAsUser != nil {
			k.RunAsUser = ctr.RunAsUser
		}
		if ctr.Privileged != nil {
			s.Privileged = *ctr.Privileged
		}
		if ctr.Capabilities != nil {
			s.CapAdd, k.CapDrop = ctr.Capabilities.Add, ctr.Capabilities.Drop
		}
		if n := seccompName(ctr.SeccompProfile); n != "" {
			s.Seccomp = n
		}
		if n := appArmorName(ctr.AppArmorProfile); n != "" {
			s.AppArmor = n
		}
	}
	if v, ok := annotations["container.apparmor.security.beta.kubernetes.io/"+c.Name]; ok {
		s.AppArmor = v
	}
	if v, ok := annotations["seccomp.security.alpha.kubernetes.io/pod"]; ok && s.Seccomp == "" {
		s.Seccomp = v
	}
	if v, ok := annotations["container.seccomp.security.alpha.kubernetes.io/"+c.Name]; ok {
		s.Seccomp = v
	}
	if strings.EqualFold(s.Seccomp, "Unconfined") || s.Seccomp == "unconfined" {
		s.Seccomp = ""
	}
	if strings.EqualFold(s.AppArmor, "Unconfined") {
		s.AppArmor = ""
	}
	mounted := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounted[m.Name] = true
	}
	for _, v := range spec.Volumes {
		if v.HostPath == nil || !mounted[v.Name] {
			continue
		}
		s.HostPaths = append(s.HostPaths, imagecheck.HostPath{Path: v.HostPath.Path,
			Socket: v.HostPath.Type == "Socket" || path.Ext(v.HostPath.Path) == ".sock"})
	}
	return k
}

func seccompName(p *profileRef) string {
	if p == nil {
		return ""
	}
	if p.Type == "Localhost" && p.LocalhostProfile != "" {
		return "Localhost/" + p.LocalhostProfile
	}
	return p.Type
}

func appArmorName(p *profileRef) string {
	if p == nil {
		return ""
	}
	if p.Type == "Localhost" && p.LocalhostProfile != "" {
		return "Localhost/" + p.LocalhostProfile
	}
	return p.Type
}

// ParseBytes is Parse on a byte slice.
func ParseBytes(b []byte) ([]Container, []string, error) { return Parse(bytes.NewReader(b)) }
