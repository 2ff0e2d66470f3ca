package validate

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// External lists what the rendered objects use without rendering it: the
// Secrets, ConfigMaps and PersistentVolumeClaims the operator must
// provide. Each list is sorted, without duplicates.
type External struct {
	// Secrets are referred to by variables, volumes, pull secrets and
	// ingress TLS.
	Secrets []string
	// ConfigMaps are referred to by variables and volumes.
	ConfigMaps []string
	// Claims are the PersistentVolumeClaims of volumes.
	Claims []string
}

// refChecker gathers errors and external names while CheckReferences
// walks the objects.
type refChecker struct {
	errs       []error
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
	claims     map[string]bool
	accounts   map[string]bool
	ext        External
}

func (c *refChecker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// secretKey notes a reference to key of Secret name: checked when the
// chart renders that Secret, external otherwise.
func (c *refChecker) secretKey(where, name, key string) {
	s, ok := c.secrets[name]
	switch {
	case name == "":
		c.errorf("%s: a Secret reference without a name", where)
	case !ok:
		c.ext.Secrets = append(c.ext.Secrets, name)
	case key == "":
	default:
		if _, ok := s.Data[key]; !ok {
			if _, ok := s.StringData[key]; !ok {
				c.errorf("%s: Secret %s has no key %q", where, name, key)
			}
		}
	}
}

// configMapKey is secretKey for ConfigMaps.
func (c *refChecker) configMapKey(where, name, key string) {
	m, ok := c.configMaps[name]
	switch {
	case name == "":
		c.errorf("%s: a ConfigMap reference without a name", where)
	case !ok:
		c.ext.ConfigMaps = append(c.ext.ConfigMaps, name)
	case key == "":
	default:
		if _, ok := m.Data[key]; !ok {
			c.errorf("%s: ConfigMap %s has no key %q", where, name, key)
		}
	}
}

// CheckReferences checks what refers to what among objs, as a cluster
// would need it to run: selectors that select, ports that exist, mounted
// volumes that are declared, keys present in the Secrets and ConfigMaps
// the chart renders, valid container, port and variable names. It
// returns the references to objects the chart does not render.
func CheckReferences(objs []Object) (External, error) {
	c := &refChecker{
		secrets:    map[string]*corev1.Secret{},
		configMaps: map[string]*corev1.ConfigMap{},
		claims:     map[string]bool{},
		accounts:   map[string]bool{"default": true},
	}
	for _, s := range Find[*corev1.Secret](objs) {
		c.secrets[s.Name] = s
	}
	for _, m := range Find[*corev1.ConfigMap](objs) {
		c.configMaps[m.Name] = m
	}
	for _, p := range Find[*corev1.PersistentVolumeClaim](objs) {
		c.claims[p.Name] = true
	}
	for _, a := range Find[*corev1.ServiceAccount](objs) {
		c.accounts[a.Name] = true
	}
	deployments := Find[*appsv1.Deployment](objs)
	for _, d := range deployments {
		c.deployment(d)
	}
	services := Find[*corev1.Service](objs)
	for _, s := range services {
		c.service(s, deployments)
	}
	for _, in := range Find[*networkingv1.Ingress](objs) {
		c.ingress(in, services)
	}
	for _, sm := range Find[*monitoringv1.ServiceMonitor](objs) {
		c.serviceMonitor(sm, services)
	}
	for _, p := range Find[*policyv1.PodDisruptionBudget](objs) {
		where := "PodDisruptionBudget/" + p.Name
		if n := len(selected(c, where, p.Spec.Selector, deployments)); n == 0 {
			c.errorf("%s: its selector matches no Deployment's pods", where)
		}
	}
	for _, l := range []*[]string{&c.ext.Secrets, &c.ext.ConfigMaps, &c.ext.Claims} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return c.ext, errors.Join(c.errs...)
}

// selected returns the Deployments whose pod template sel matches.
func selected(c *refChecker, where string, sel *metav1.LabelSelector, deployments []*appsv1.Deployment) []*appsv1.Deployment {
	if sel == nil {
		c.errorf("%s: no selector", where)
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		c.errorf("%s: selector: %v", where, err)
		return nil
	}
	if s.Empty() {
		c.errorf("%s: an empty selector selects every pod", where)
		return nil
	}
	var out []*appsv1.Deployment
	for _, d := range deployments {
		if s.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

func (c *refChecker) deployment(d *appsv1.Deployment) {
	where := "Deployment/" + d.Name
	if got := selected(c, where, d.Spec.Selector, []*appsv1.Deployment{d}); len(got) == 0 {
		c.errorf("%s: spec.selector does not match the pod template's labels %v", where, d.Spec.Template.Labels)
	}
	pod := d.Spec.Template.Spec
	if sa := pod.ServiceAccountName; sa != "" && !c.accounts[sa] {
		c.errorf("%s: service account %q is not rendered", where, sa)
	}
	for _, s := range pod.ImagePullSecrets {
		c.secretKey(where+": imagePullSecrets", s.Name, "")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		if _, dup := volumes[v.Name]; dup {
			c.errorf("%s: volume %q declared twice", where, v.Name)
		}
		volumes[v.Name] = v
		vw := where + ": volume " + v.Name
		switch {
		case v.PersistentVolumeClaim != nil:
			if name := v.PersistentVolumeClaim.ClaimName; !c.claims[name] {
				c.ext.Claims = append(c.ext.Claims, name)
			}
		case v.Secret != nil:
			c.secretKey(vw, v.Secret.SecretName, "")
			for _, it := range v.Secret.Items {
				c.secretKey(vw, v.Secret.SecretName, it.Key)
			}
		case v.ConfigMap != nil:
			c.configMapKey(vw, v.ConfigMap.Name, "")
			for _, it := range v.ConfigMap.Items {
				c.configMapKey(vw, v.ConfigMap.Name, it.Key)
			}
		}
	}
	used := map[string]bool{}
	for _, ct := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		c.container(where+": container "+ct.Name, ct, volumes, used)
	}
	for name := range volumes {
		if !used[name] {
			c.errorf("%s: volume %q is mounted by no container", where, name)
		}
	}
}

func (c *refChecker) container(where string, ct corev1.Container, volumes map[string]corev1.Volume, used map[string]bool) {
	for _, msg := range validation.IsDNS1123Label(ct.Name) {
		c.errorf("%s: name: %s", where, msg)
	}
	if ct.Image == "" {
		c.errorf("%s: no image", where)
	}
	ports := map[string]bool{}
	for _, p := range ct.Ports {
		for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
			c.errorf("%s: port %d: %s", where, p.ContainerPort, msg)
		}
		if p.Name == "" {
			continue
		}
		for _, msg := range validation.IsValidPortName(p.Name) {
			c.errorf("%s: port name %q: %s", where, p.Name, msg)
		}
		if ports[p.Name] {
			c.errorf("%s: port name %q used twice", where, p.Name)
		}
		ports[p.Name] = true
	}
	env := map[string]bool{}
	for _, e := range ct.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			c.errorf("%s: env %q: %s", where, e.Name, msg)
		}
		if env[e.Name] {
			c.errorf("%s: env %s set twice (the last one wins)", where, e.Name)
		}
		env[e.Name] = true
		if e.ValueFrom == nil {
			continue
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			c.secretKey(where+": env "+e.Name, r.Name, r.Key)
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			c.configMapKey(where+": env "+e.Name, r.Name, r.Key)
		}
	}
	for _, e := range ct.EnvFrom {
		if e.SecretRef != nil {
			c.secretKey(where+": envFrom", e.SecretRef.Name, "")
		}
		if e.ConfigMapRef != nil {
			c.configMapKey(where+": envFrom", e.ConfigMapRef.Name, "")
		}
	}
	paths := map[string]bool{}
	for _, m := range ct.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			c.errorf("%s: mounts undeclared volume %q", where, m.Name)
		}
		used[m.Name] = true
		if !path.IsAbs(m.MountPath) || paths[m.MountPath] {
			c.errorf("%s: mount path %q is relative or used twice", where, m.MountPath)
		}
		paths[m.MountPath] = true
		if m.SubPath != "" && (path.IsAbs(m.SubPath) || strings.Contains(m.SubPath, "..")) {
			c.errorf("%s: subPath %q must be relative, without ..", where, m.SubPath)
		}
	}
	for name, p := range map[string]*corev1.Probe{"livenessProbe": ct.LivenessProbe, "readinessProbe": ct.ReadinessProbe, "startupProbe": ct.StartupProbe} {
		if p == nil {
			continue
		}
		if p.HTTPGet == nil {
			c.errorf("%s: %s: not an httpGet probe", where, name)
			continue
		}
		if !strings.HasPrefix(p.HTTPGet.Path, "/") {
			c.errorf("%s: %s: path %q", where, name, p.HTTPGet.Path)
		}
		if port := p.HTTPGet.Port; port.Type == intstr.String && !ports[port.StrVal] {
			c.errorf("%s: %s: no container port named %q", where, name, port.StrVal)
		}
	}
}

// podPorts returns the named ports and the port numbers of the
// containers of deployments.
func podPorts(deployments []*appsv1.Deployment) (names map[string]bool, numbers map[int32]bool) {
	names, numbers = map[string]bool{}, map[int32]bool{}
	for _, d := range deployments {
		for _, ct := range d.Spec.Template.Spec.Containers {
			for _, p := range ct.Ports {
				names[p.Name] = true
				numbers[p.ContainerPort] = true
			}
		}
	}
	return names, numbers
}

func (c *refChecker) service(s *corev1.Service, deployments []*appsv1.Deployment) {
	where := "Service/" + s.Name
	pods := selected(c, where, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, deployments)
	if len(pods) == 0 {
		c.errorf("%s: selector %v matches no Deployment's pods", where, s.Spec.Selector)
		return
	}
	names, numbers := podPorts(pods)
	for _, p := range s.Spec.Ports {
		switch t := p.TargetPort; {
		case t.Type == intstr.String && !names[t.StrVal]:
			c.errorf("%s: port %s: the pods have no port named %q", where, p.Name, t.StrVal)
		case t.Type == intstr.Int && t.IntVal != 0 && !numbers[t.IntVal]:
			c.errorf("%s: port %s: the pods have no port %d", where, p.Name, t.IntVal)
		case t.Type == intstr.Int && t.IntVal == 0 && !numbers[p.Port]:
			c.errorf("%s: port %s: the pods have no port %d", where, p.Name, p.Port)
		}
		if p.NodePort != 0 && s.Spec.Type != corev1.ServiceTypeNodePort && s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			c.errorf("%s: port %s: a nodePort on a %s Service", where, p.Name, s.Spec.Type)
		}
		for _, msg := range validation.IsValidPortName(p.Name) {
			c.errorf("%s: port name %q: %s", where, p.Name, msg)
		}
	}
}

func (c *refChecker) ingress(in *networkingv1.Ingress, services []*corev1.Service) {
	where := "Ingress/" + in.Name
	for _, t := range in.Spec.TLS {
		c.secretKey(where+": tls", t.SecretName, "")
	}
	for _, r := range in.Spec.Rules {
		if r.HTTP == nil {
			c.errorf("%s: a rule without http paths", where)
			continue
		}
		for _, p := range r.HTTP.Paths {
			b := p.Backend.Service
			if b == nil {
				c.errorf("%s: path %s has no service backend", where, p.Path)
				continue
			}
			i := slices.IndexFunc(services, func(s *corev1.Service) bool { return s.Name == b.Name })
			if i < 0 {
				c.errorf("%s: path %s: no Service %q", where, p.Path, b.Name)
				continue
			}
			ok := slices.ContainsFunc(services[i].Spec.Ports, func(sp corev1.ServicePort) bool {
				return (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number)
			})
			if !ok {
				c.errorf("%s: path %s: Service %s has no port %+v", where, p.Path, b.Name, b.Port)
			}
		}
	}
}

func (c *refChecker) serviceMonitor(sm *monitoringv1.ServiceMonitor, services []*corev1.Service) {
	where := "ServiceMonitor/" + sm.Name
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || sel.Empty() {
		c.errorf("%s: selector %v: %v (empty selects every Service)", where, sm.Spec.Selector, err)
		return
	}
	if ns := sm.Spec.NamespaceSelector; !ns.Any && len(ns.MatchNames) > 0 && !slices.Contains(ns.MatchNames, sm.Namespace) {
		c.errorf("%s: namespaceSelector %v leaves out its own namespace %s", where, ns.MatchNames, sm.Namespace)
	}
	var matched []*corev1.Service
	for _, s := range services {
		if sel.Matches(labels.Set(s.Labels)) {
			matched = append(matched, s)
		}
	}
	if len(matched) == 0 {
		c.errorf("%s: selector matches no Service", where)
	}
	for _, ep := range sm.Spec.Endpoints {
		for _, s := range matched {
			if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
				c.errorf("%s: Service %s has no port named %q to scrape", where, s.Name, ep.Port)
			}
		}
	}
}
