package validate

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// The chart, and the release every test renders.
var chartDir = filepath.Join("..", "berth")

const (
	release   = "berth"
	namespace = "registry"
)

// rendered is a release decoded and checked by render.
type rendered struct {
	objs []Object
	ext  External
}

// helm returns the helm binary or fails the test.
func helm(t *testing.T) string {
	t.Helper()
	h, err := HelmBinary()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// render renders the chart with the values files and --set assignments,
// decodes every object strictly and checks metadata, references and the
// server's variable names; any failure ends the test.
func render(t *testing.T, files, sets []string) rendered {
	t.Helper()
	out, err := Render(helm(t), chartDir, release, namespace, files, sets)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeAll(out)
	if err != nil {
		t.Fatalf("strict decoding:\n%v", err)
	}
	if err := CheckMeta(objs, namespace); err != nil {
		t.Fatalf("metadata:\n%v", err)
	}
	ext, err := CheckReferences(objs)
	if err != nil {
		t.Fatalf("references:\n%v", err)
	}
	r := rendered{objs: objs, ext: ext}
	checkServerVariables(t, r.container(t))
	return r
}

// one returns the only object of type T, failing unless there is exactly one.
func one[T any](t *testing.T, r rendered) T {
	t.Helper()
	found := Find[T](r.objs)
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

// none fails when an object of type T was rendered.
func none[T any](t *testing.T, r rendered) {
	t.Helper()
	if found := Find[T](r.objs); len(found) != 0 {
		t.Errorf("%d objects of type %T rendered, want none", len(found), found[0])
	}
}

func (r rendered) deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	return one[*appsv1.Deployment](t, r)
}

// container is the registry container of the release's Deployment.
func (r rendered) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := r.deployment(t).Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "registry" {
		t.Fatalf("containers %v, want the one named registry", cs)
	}
	return cs[0]
}

// service returns the Service named name.
func (r rendered) service(t *testing.T, name string) *corev1.Service {
	t.Helper()
	for _, s := range Find[*corev1.Service](r.objs) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no Service %s", name)
	return nil
}

// volume returns the pod's volume named name.
func (r rendered) volume(t *testing.T, name string) corev1.Volume {
	t.Helper()
	for _, v := range r.deployment(t).Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %s", name)
	return corev1.Volume{}
}

// mount returns the container's mount of volume name.
func mount(t *testing.T, ct corev1.Container, name string) corev1.VolumeMount {
	t.Helper()
	for _, m := range ct.VolumeMounts {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("volume %s is not mounted", name)
	return corev1.VolumeMount{}
}

// env returns the container's variables by name.
func env(ct corev1.Container) map[string]corev1.EnvVar {
	m := map[string]corev1.EnvVar{}
	for _, e := range ct.Env {
		m[e.Name] = e
	}
	return m
}

// wantEnv checks variables set to literal values.
func wantEnv(t *testing.T, ct corev1.Container, kv ...string) {
	t.Helper()
	m := env(ct)
	for i := 0; i < len(kv); i += 2 {
		e, ok := m[kv[i]]
		switch {
		case !ok:
			t.Errorf("env %s not set, want %q", kv[i], kv[i+1])
		case e.ValueFrom != nil || e.Value != kv[i+1]:
			t.Errorf("env %s = %q (from %v), want %q", kv[i], e.Value, e.ValueFrom, kv[i+1])
		}
	}
}

// wantSecretEnv checks a variable read from a Secret's key.
func wantSecretEnv(t *testing.T, ct corev1.Container, name, secret, key string) {
	t.Helper()
	e, ok := env(ct)[name]
	if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Errorf("env %s = %+v, want it from Secret %s key %s", name, e, secret, key)
		return
	}
	if r := e.ValueFrom.SecretKeyRef; r.Name != secret || r.Key != key {
		t.Errorf("env %s from Secret %s key %s, want %s key %s", name, r.Name, r.Key, secret, key)
	}
}

// noEnv checks variables that must not be set.
func noEnv(t *testing.T, ct corev1.Container, names ...string) {
	t.Helper()
	m := env(ct)
	for _, n := range names {
		if e, ok := m[n]; ok {
			t.Errorf("env %s = %+v, want it unset", n, e)
		}
	}
}

// wantExternal checks the Secrets and claims the operator must provide.
func (r rendered) wantExternal(t *testing.T, secrets, claims []string) {
	t.Helper()
	if !slices.Equal(r.ext.Secrets, secrets) {
		t.Errorf("external Secrets %q, want %q", r.ext.Secrets, secrets)
	}
	if !slices.Equal(r.ext.Claims, claims) {
		t.Errorf("external claims %q, want %q", r.ext.Claims, claims)
	}
	if len(r.ext.ConfigMaps) != 0 {
		t.Errorf("external ConfigMaps %q, want none", r.ext.ConfigMaps)
	}
}

// checkPod checks what every release's pod must be: non-root, read-only,
// without capabilities or a service account token, on port 5000 of all
// interfaces, with the three probes on /livez and /readyz on the
// container port named port, in scheme.
func (r rendered) checkPod(t *testing.T, port string, scheme corev1.URIScheme) {
	t.Helper()
	pod := r.deployment(t).Spec.Template.Spec
	ps := pod.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser != 65532 ||
		ps.FSGroup == nil || *ps.FSGroup != 65532 || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v, want non-root uid and fsGroup 65532, RuntimeDefault seccomp", ps)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token it does not need")
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("service links on: Kubernetes would add BERTH_* variables of its own")
	}
	ct := r.container(t)
	cs := ct.SecurityContext
	if cs == nil || cs.RunAsNonRoot == nil || !*cs.RunAsNonRoot || cs.RunAsUser == nil || *cs.RunAsUser != 65532 ||
		cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
		cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) != 0 {
		t.Errorf("container securityContext %+v, want non-root 65532, read-only root, no escalation, drop ALL", cs)
	}
	for name, want := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"liveness": {ct.LivenessProbe, "/livez"}, "readiness": {ct.ReadinessProbe, "/readyz"}, "startup": {ct.StartupProbe, "/livez"}} {
		p := want.p
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want.path || p.HTTPGet.Port.StrVal != port || p.HTTPGet.Scheme != scheme {
			t.Errorf("%s probe %+v, want GET %s on port %s over %s", name, p, want.path, port, scheme)
		}
	}
	if len(ct.Ports) == 0 || ct.Ports[0].Name != "http" || ct.Ports[0].ContainerPort != 5000 {
		t.Errorf("ports %+v, want http 5000 first", ct.Ports)
	}
	wantEnv(t, ct, "BERTH_ADDR", "0.0.0.0:5000", "BERTH_DATA_DIR", "/data", "BERTH_CONFIG", "/etc/berth/config.yaml")
	if m := mount(t, ct, "config"); m.MountPath != "/etc/berth/config.yaml" || m.SubPath != "config.yaml" || !m.ReadOnly {
		t.Errorf("config mount %+v", m)
	}
	if m := mount(t, ct, "data"); m.MountPath != "/data" {
		t.Errorf("data mount %+v, want /data", m)
	}
	if m := mount(t, ct, "tmp"); m.MountPath != "/tmp" || r.volume(t, "tmp").EmptyDir == nil {
		t.Errorf("tmp mount %+v, want an emptyDir at /tmp (the root is read-only)", m)
	}
	if cm := one[*corev1.ConfigMap](t, r); cm.Name != release+"-config" {
		t.Errorf("ConfigMap %s", cm.Name)
	} else if v := r.volume(t, "config"); v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Errorf("config volume %+v, want ConfigMap %s", v, cm.Name)
	}
}

// generatedPassword checks the admin Secret the chart makes and returns
// the password in it.
func (r rendered) generatedPassword(t *testing.T) string {
	t.Helper()
	s := one[*corev1.Secret](t, r)
	if s.Name != release+"-admin" || s.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("admin Secret %s, annotations %v: want %s-admin, kept on uninstall", s.Name, s.Annotations, release)
	}
	wantSecretEnv(t, r.container(t), "BERTH_ADMIN_PASSWORD", s.Name, "password")
	return string(s.Data["password"])
}

// ciChecks holds the assertions of each values file in ../berth/ci: a
// file without an entry fails the test, so every example is checked for
// what it is meant to show.
var ciChecks = map[string]func(t *testing.T, r rendered){
	"default-values.yaml": func(t *testing.T, r rendered) {
		d := r.deployment(t)
		if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("replicas %d, strategy %s: want 1, Recreate (the claim is held by one pod)", *d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		r.checkPod(t, "http", corev1.URISchemeHTTP)
		pvc := one[*corev1.PersistentVolumeClaim](t, r)
		if pvc.Name != release || pvc.Spec.StorageClassName != nil || pvc.Annotations["helm.sh/resource-policy"] != "keep" ||
			!slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) ||
			pvc.Spec.Resources.Requests.Storage().String() != "50Gi" {
			t.Errorf("PVC %s %+v %v: want %s, default class, RWO, 50Gi, kept on uninstall", pvc.Name, pvc.Spec, pvc.Annotations, release)
		}
		if v := r.volume(t, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name {
			t.Errorf("data volume %+v, want claim %s", v, pvc.Name)
		}
		if p := r.generatedPassword(t); !regexp.MustCompile(`^[A-Za-z0-9]{24}$`).MatchString(p) {
			t.Errorf("generated admin password %q, want 24 letters and digits", p)
		}
		ct := r.container(t)
		wantEnv(t, ct, "BERTH_STORAGE_DRIVER", "fs", "BERTH_METADATA_DRIVER", "bolt", "BERTH_LOG_LEVEL", "info")
		noEnv(t, ct, "BERTH_DEBUG_ADDR", "BERTH_EXTERNAL_URL", "BERTH_SECURE_COOKIES", "BERTH_TLS_CERT_FILE",
			"BERTH_METADATA_POSTGRES_DSN", "BERTH_STORAGE_FS_NOSYNC")
		s := r.service(t, release)
		if s.Spec.Type != corev1.ServiceTypeClusterIP || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 5000 || s.Spec.Ports[0].NodePort != 0 {
			t.Errorf("Service %+v, want ClusterIP on 5000", s.Spec)
		}
		if len(Find[*corev1.Service](r.objs)) != 1 {
			t.Error("a metrics Service without metrics.enabled")
		}
		if one[*corev1.ServiceAccount](t, r).Name != d.Spec.Template.Spec.ServiceAccountName {
			t.Error("the pod does not run as the chart's service account")
		}
		none[*networkingv1.Ingress](t, r)
		none[*monitoringv1.ServiceMonitor](t, r)
		none[*policyv1.PodDisruptionBudget](t, r)
		r.wantExternal(t, nil, nil)
	},
	"seed-values.yaml": func(t *testing.T, r rendered) {
		d := r.deployment(t)
		if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("replicas %d, strategy %s", *d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		r.checkPod(t, "http", corev1.URISchemeHTTP)
		none[*corev1.PersistentVolumeClaim](t, r)
		none[*corev1.Secret](t, r)
		if v := r.volume(t, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "harbor-registry" {
			t.Errorf("data volume %+v, want the existing claim harbor-registry", v)
		}
		ct := r.container(t)
		if m := mount(t, ct, "data"); m.SubPath != "berth" {
			t.Errorf("data mount subPath %q, want berth", m.SubPath)
		}
		wantSecretEnv(t, ct, "BERTH_ADMIN_PASSWORD", "harbor-admin", "HARBOR_ADMIN_PASSWORD")
		wantEnv(t, ct, "BERTH_EXTERNAL_URL", "http://registry.internal:30500", "BERTH_STORAGE_DRIVER", "fs", "BERTH_METADATA_DRIVER", "bolt")
		noEnv(t, ct, "BERTH_SECURE_COOKIES")
		s := r.service(t, release)
		if s.Spec.Type != corev1.ServiceTypeNodePort || s.Spec.Ports[0].NodePort != 30500 || s.Spec.Ports[0].Port != 5000 {
			t.Errorf("Service %+v, want NodePort 30500 to port 5000", s.Spec)
		}
		pod := d.Spec.Template.Spec
		if pod.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Tolerations) != 1 || pod.Tolerations[0].Value != "registry" {
			t.Errorf("nodeSelector %v, tolerations %+v", pod.NodeSelector, pod.Tolerations)
		}
		r.wantExternal(t, []string{"harbor-admin"}, []string{"harbor-registry"})
	},
	"storageclass-values.yaml": func(t *testing.T, r rendered) {
		r.checkPod(t, "http", corev1.URISchemeHTTP)
		pvc := one[*corev1.PersistentVolumeClaim](t, r)
		if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "nfs" ||
			!slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}) ||
			pvc.Spec.Resources.Requests.Storage().String() != "200Gi" {
			t.Errorf("PVC %+v, want class nfs, ReadWriteOncePod, 200Gi", pvc.Spec)
		}
		if _, kept := pvc.Annotations["helm.sh/resource-policy"]; kept || pvc.Annotations["backup.example.com/schedule"] != "daily" {
			t.Errorf("PVC annotations %v, want the given one and no resource policy", pvc.Annotations)
		}
		if v := r.volume(t, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name {
			t.Errorf("data volume %+v, want claim %s", v, pvc.Name)
		}
		ct := r.container(t)
		wantEnv(t, ct, "BERTH_LOG_LEVEL", "debug")
		if p := r.generatedPassword(t); p != "a-long-enough-password" {
			t.Errorf("admin password %q, want the one given", p)
		}
		r.wantExternal(t, nil, nil)
	},
	"s3-postgres-values.yaml": func(t *testing.T, r rendered) {
		d := r.deployment(t)
		if *d.Spec.Replicas != 3 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
			d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
			t.Errorf("replicas %d, strategy %+v: want 3, RollingUpdate without unavailable pods", *d.Spec.Replicas, d.Spec.Strategy)
		}
		r.checkPod(t, "debug", corev1.URISchemeHTTP)
		none[*corev1.PersistentVolumeClaim](t, r)
		if v := r.volume(t, "data"); v.EmptyDir == nil {
			t.Errorf("data volume %+v, want an emptyDir (nothing to keep on S3 and PostgreSQL)", v)
		}
		ct := r.container(t)
		if ct.Image != "registry.example.com/berth/berth:0.1.0" || ct.ImagePullPolicy != corev1.PullAlways {
			t.Errorf("image %s %s", ct.Image, ct.ImagePullPolicy)
		}
		wantEnv(t, ct,
			"BERTH_STORAGE_DRIVER", "s3", "BERTH_S3_BUCKET", "berth-blobs", "BERTH_S3_REGION", "eu-west-1",
			"BERTH_S3_ENDPOINT", "https://s3.eu-west-1.amazonaws.com", "BERTH_S3_ROOT", "/registry", "BERTH_S3_REDIRECT_EXPIRY", "20m",
			"BERTH_METADATA_DRIVER", "postgres", "BERTH_METADATA_POSTGRES_MAX_CONNS", "8", "BERTH_METADATA_POSTGRES_STATEMENT_TIMEOUT", "30s",
			"BERTH_EXTERNAL_URL", "https://registry.example.com", "BERTH_SECURE_COOKIES", "true",
			"BERTH_DEBUG_ADDR", "0.0.0.0:9090",
			"BERTH_TLS_CERT_FILE", "/etc/berth/tls/tls.crt", "BERTH_TLS_KEY_FILE", "/etc/berth/tls/tls.key",
			"BERTH_TLS_CLIENT_CA", "/etc/berth/tls/client-ca.crt",
			"BERTH_HTTP_TRUSTED_PROXIES", "10.42.0.0/16",
			"BERTH_CREATE_PROJECTS_ON_PUSH", "true")
		wantSecretEnv(t, ct, "BERTH_S3_ACCESS_KEY", "berth-s3", "accessKey")
		wantSecretEnv(t, ct, "BERTH_S3_SECRET_KEY", "berth-s3", "secretKey")
		wantSecretEnv(t, ct, "BERTH_METADATA_POSTGRES_DSN", "berth-postgres", "dsn")
		noEnv(t, ct, "BERTH_S3_STORAGE_CLASS", "BERTH_METADATA_POSTGRES_MIN_CONNS")
		if e := env(ct)["GOMEMLIMIT"]; e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil {
			t.Errorf("extraEnv GOMEMLIMIT %+v", e)
		}
		if v := r.volume(t, "tls"); v.Secret == nil || v.Secret.SecretName != "berth-pod-tls" || len(v.Secret.Items) != 3 ||
			v.Secret.Items[2].Key != "ca.crt" || v.Secret.Items[2].Path != "client-ca.crt" {
			t.Errorf("tls volume %+v", v)
		} else if m := mount(t, ct, "tls"); m.MountPath != "/etc/berth/tls" || !m.ReadOnly {
			t.Errorf("tls mount %+v", m)
		}
		if s := r.service(t, release); s.Spec.Ports[0].Name != "https" {
			t.Errorf("Service port %+v, want it named https", s.Spec.Ports[0])
		}
		in := one[*networkingv1.Ingress](t, r)
		if in.Spec.IngressClassName == nil || *in.Spec.IngressClassName != "nginx" || len(in.Spec.Rules) != 1 ||
			in.Spec.Rules[0].Host != "registry.example.com" || len(in.Spec.TLS) != 1 || in.Spec.TLS[0].SecretName != "registry-example-com-tls" ||
			in.Annotations["nginx.ingress.kubernetes.io/backend-protocol"] != "HTTPS" {
			t.Errorf("Ingress %+v %v", in.Spec, in.Annotations)
		}
		ms := r.service(t, release+"-metrics")
		if ms.Spec.Type != corev1.ServiceTypeClusterIP || ms.Spec.Ports[0].Port != 9090 {
			t.Errorf("metrics Service %+v, want ClusterIP 9090", ms.Spec)
		}
		sm := one[*monitoringv1.ServiceMonitor](t, r)
		if sm.Labels["release"] != "prometheus" || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" ||
			sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Interval != "30s" {
			t.Errorf("ServiceMonitor %v %+v", sm.Labels, sm.Spec)
		}
		if sm.Spec.Selector.MatchLabels["app.kubernetes.io/component"] != "metrics" {
			t.Errorf("ServiceMonitor selector %v would scrape the registry Service too", sm.Spec.Selector)
		}
		if p := one[*policyv1.PodDisruptionBudget](t, r); p.Spec.MinAvailable.IntValue() != 1 {
			t.Errorf("PDB %+v", p.Spec)
		}
		pod := d.Spec.Template.Spec
		if pod.Affinity == nil || pod.Affinity.PodAntiAffinity == nil {
			t.Errorf("affinity %+v", pod.Affinity)
		}
		if sa := one[*corev1.ServiceAccount](t, r); sa.Annotations["eks.amazonaws.com/role-arn"] == "" {
			t.Errorf("service account annotations %v", sa.Annotations)
		}
		var cfg map[string]any
		if err := yaml.Unmarshal([]byte(one[*corev1.ConfigMap](t, r).Data["config.yaml"]), &cfg); err != nil || cfg["outbound"] == nil {
			t.Errorf("config.yaml %v (%v), want outbound.allow", cfg, err)
		}
		if p := r.generatedPassword(t); len(p) != 24 {
			t.Errorf("generated password %q", p)
		}
		r.wantExternal(t, []string{"berth-pod-tls", "berth-postgres", "berth-s3", "example-pull", "registry-example-com-tls"}, nil)
	},
	"oss-values.yaml": func(t *testing.T, r rendered) {
		d := r.deployment(t)
		if *d.Spec.Replicas != 2 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
			t.Errorf("replicas %d, strategy %s", *d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		r.checkPod(t, "http", corev1.URISchemeHTTP)
		none[*corev1.PersistentVolumeClaim](t, r)
		ct := r.container(t)
		wantEnv(t, ct, "BERTH_STORAGE_DRIVER", "oss", "BERTH_OSS_BUCKET", "berth-blobs", "BERTH_OSS_REGION", "cn-hangzhou",
			"BERTH_OSS_INTERNAL", "true", "BERTH_OSS_ENCRYPT", "true", "BERTH_OSS_ROOT", "/registry",
			"BERTH_METADATA_DRIVER", "postgres", "BERTH_EXTERNAL_URL", "https://registry.example.cn", "BERTH_SECURE_COOKIES", "true")
		wantSecretEnv(t, ct, "BERTH_OSS_ACCESS_KEY_ID", "berth-oss", "accessKeyId")
		wantSecretEnv(t, ct, "BERTH_OSS_ACCESS_KEY_SECRET", "berth-oss", "accessKeySecret")
		wantSecretEnv(t, ct, "BERTH_METADATA_POSTGRES_DSN", "berth-postgres", "url")
		noEnv(t, ct, "BERTH_S3_BUCKET", "BERTH_OSS_ENDPOINT", "BERTH_OSS_KMS_KEY_ID", "BERTH_TLS_CERT_FILE")
		if p := r.generatedPassword(t); p != "change-me-please" {
			t.Errorf("admin password %q, want the one given", p)
		}
		r.wantExternal(t, []string{"berth-oss", "berth-postgres"}, nil)
	},
}

// ciFiles returns the values files of ../berth/ci.
func ciFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci: %v", chartDir, err)
	}
	return files
}

// TestCIValues renders the chart with each values file of ci/, decodes
// every object strictly, checks their references, and asserts what the
// file is for.
func TestCIValues(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range ciFiles(t) {
		name := filepath.Base(f)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			check, ok := ciChecks[name]
			if !ok {
				t.Fatalf("%s has no assertions: add them to ciChecks", f)
			}
			check(t, render(t, []string{f}, nil))
		})
	}
	for name := range ciChecks {
		if !seen[name] {
			t.Errorf("ciChecks has %s, which ci/ does not", name)
		}
	}
}

// TestVariants renders values the ci files do not show.
func TestVariants(t *testing.T) {
	for _, c := range []struct {
		name  string
		sets  []string
		check func(t *testing.T, r rendered)
	}{
		{"no storage class", []string{"persistence.persistentVolumeClaim.registry.storageClass=-"}, func(t *testing.T, r rendered) {
			if sc := one[*corev1.PersistentVolumeClaim](t, r).Spec.StorageClassName; sc == nil || *sc != "" {
				t.Errorf("storageClassName %v, want \"\" (no class, no dynamic provisioning)", sc)
			}
		}},
		{"no persistence", []string{"persistence.enabled=false"}, func(t *testing.T, r rendered) {
			none[*corev1.PersistentVolumeClaim](t, r)
			if v := r.volume(t, "data"); v.EmptyDir == nil {
				t.Errorf("data volume %+v, want an emptyDir", v)
			}
		}},
		{"s3 with the AWS credential chain, bbolt on a claim", []string{"storage.driver=s3", "storage.s3.bucket=b"}, func(t *testing.T, r rendered) {
			ct := r.container(t)
			wantEnv(t, ct, "BERTH_STORAGE_DRIVER", "s3", "BERTH_S3_BUCKET", "b", "BERTH_METADATA_DRIVER", "bolt")
			noEnv(t, ct, "BERTH_S3_ACCESS_KEY", "BERTH_S3_SECRET_KEY", "BERTH_S3_REGION")
			if one[*corev1.PersistentVolumeClaim](t, r) == nil || r.deployment(t).Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Error("bbolt's file needs the claim and a Recreate strategy")
			}
		}},
		{"fs on postgres, one replica", []string{"metadata.driver=postgres", "metadata.postgres.existingSecret=pg"}, func(t *testing.T, r rendered) {
			one[*corev1.PersistentVolumeClaim](t, r)
			wantSecretEnv(t, r.container(t), "BERTH_METADATA_POSTGRES_DSN", "pg", "dsn")
		}},
		{"existing admin Secret, image digest, extra volume", []string{
			"admin.existingSecret=mine", "image.digest=sha256:" + strings.Repeat("ab", 32),
			"extraVolumes[0].name=keys", "extraVolumes[0].secret.secretName=berth-keys",
			"extraVolumeMounts[0].name=keys", "extraVolumeMounts[0].mountPath=/etc/berth/keys",
			"extraEnv[0].name=BERTH_TOKEN_KEY", "extraEnv[0].value=/etc/berth/keys/token.pem",
		}, func(t *testing.T, r rendered) {
			none[*corev1.Secret](t, r)
			ct := r.container(t)
			wantSecretEnv(t, ct, "BERTH_ADMIN_PASSWORD", "mine", "password")
			wantEnv(t, ct, "BERTH_TOKEN_KEY", "/etc/berth/keys/token.pem")
			if !strings.HasSuffix(ct.Image, "@sha256:"+strings.Repeat("ab", 32)) {
				t.Errorf("image %s, want the digest", ct.Image)
			}
			r.wantExternal(t, []string{"berth-keys", "mine"}, nil)
		}},
		{"TLS without client certificates", []string{"tls.enabled=true", "tls.secretName=cert"}, func(t *testing.T, r rendered) {
			r.checkPod(t, "http", corev1.URISchemeHTTPS)
			ct := r.container(t)
			wantEnv(t, ct, "BERTH_TLS_CERT_FILE", "/etc/berth/tls/tls.crt", "BERTH_TLS_KEY_FILE", "/etc/berth/tls/tls.key")
			noEnv(t, ct, "BERTH_TLS_CLIENT_CA", "BERTH_DEBUG_ADDR")
			if len(ct.Ports) != 1 {
				t.Errorf("ports %+v, want http only (no debug listener)", ct.Ports)
			}
			if v := r.volume(t, "tls"); len(v.Secret.Items) != 2 {
				t.Errorf("tls volume items %+v, want the pair", v.Secret.Items)
			}
			r.wantExternal(t, []string{"cert"}, nil)
		}},
		{"mutual TLS without metrics", []string{"tls.enabled=true", "tls.secretName=cert", "tls.clientCAKey=ca.crt"}, func(t *testing.T, r rendered) {
			r.checkPod(t, "debug", corev1.URISchemeHTTP)
			wantEnv(t, r.container(t), "BERTH_DEBUG_ADDR", "0.0.0.0:9090", "BERTH_TLS_CLIENT_CA", "/etc/berth/tls/client-ca.crt")
			if len(Find[*corev1.Service](r.objs)) != 1 {
				t.Error("a metrics Service without metrics.enabled")
			}
			none[*monitoringv1.ServiceMonitor](t, r)
		}},
		{"another release name", []string{"fullnameOverride=reg"}, func(t *testing.T, r rendered) {
			if v := r.volume(t, "data"); v.PersistentVolumeClaim.ClaimName != "reg" {
				t.Errorf("claim %s", v.PersistentVolumeClaim.ClaimName)
			}
			r.service(t, "reg")
		}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t, render(t, nil, c.sets)) })
	}
}

// TestRefusals: values the server would refuse, or that would corrupt
// or lose data, stop helm template with the value to change named.
func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		sets []string
		want string
	}{
		{"three replicas on bbolt", []string{"replicaCount=3"}, "replicaCount 3 needs metadata.driver postgres"},
		{"three replicas on bbolt and s3", []string{"replicaCount=3", "storage.driver=s3", "storage.s3.bucket=b"}, "needs metadata.driver postgres"},
		{"three replicas on fs", []string{"replicaCount=3", "metadata.driver=postgres", "metadata.postgres.existingSecret=pg"}, "needs storage.driver s3 or oss"},
		{"postgres without its Secret", []string{"metadata.driver=postgres"}, "metadata.postgres.existingSecret"},
		{"s3 without a bucket", []string{"storage.driver=s3"}, "storage.s3.bucket"},
		{"oss without keys", []string{"storage.driver=oss", "storage.oss.bucket=b", "storage.oss.region=r"}, "storage.oss.existingSecret"},
		{"oss without a region", []string{"storage.driver=oss", "storage.oss.bucket=b", "storage.oss.existingSecret=k"}, "storage.oss.bucket and storage.oss.region"},
		{"tls without a Secret", []string{"tls.enabled=true"}, "tls.secretName"},
		{"a ServiceMonitor without metrics", []string{"metrics.serviceMonitor.enabled=true"}, "needs metrics.enabled"},
		{"a short admin password", []string{"admin.password=short"}, "admin.password must be 8 to 72"},
		{"a nodePort on ClusterIP", []string{"service.nodePort=30500"}, "service.nodePort needs service.type NodePort"},
		{"an existing claim without persistence", []string{"persistence.enabled=false", "persistence.persistentVolumeClaim.registry.existingClaim=c"}, "needs persistence.enabled"},
		{"a misspelt key", []string{"persistance.enabled=true"}, "'persistance' not allowed"},
		{"a misspelt nested key", []string{"persistence.persistentVolumeClaim.registry.existingclaim=c"}, "'existingclaim' not allowed"},
		{"an unknown storage driver", []string{"storage.driver=gcs"}, "/storage/driver"},
		{"a bad log level", []string{"logLevel=verbose"}, "/logLevel"},
		{"an external URL with a query", []string{"externalURL=https://r.example.com/?x=1"}, "/externalURL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Render(helm(t), chartDir, release, namespace, nil, c.sets)
			if err == nil {
				t.Fatalf("helm template accepted %v:\n%s", c.sets, out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\ndoes not say %q", err, c.want)
			}
		})
	}
}

// TestLint runs helm lint --strict with each values file of ci/.
func TestLint(t *testing.T) {
	h := helm(t)
	for _, f := range append([]string{""}, ciFiles(t)...) {
		args := []string{"lint", "--strict", "--kube-version", KubeVersion, chartDir}
		if f != "" {
			args = append(args, "--values", f)
		}
		if out, err := exec.Command(h, args...).CombinedOutput(); err != nil {
			t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestGeneratedPasswordVaries: without a cluster to look the Secret up
// in, each render makes a new password, so none is baked into the chart.
func TestGeneratedPasswordVaries(t *testing.T) {
	a := render(t, nil, nil).generatedPassword(t)
	b := render(t, nil, nil).generatedPassword(t)
	if a == b {
		t.Errorf("two renders made the same password %q", a)
	}
}

// TestDecodeIsStrict: the decoder refuses unknown fields, duplicate keys
// and unknown kinds, and the reference checks refuse dangling names, so
// that the tests above fail when the chart breaks.
func TestDecodeIsStrict(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  prots: []\n", `unknown field "spec.prots"`},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n", "already set"},
		{"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n    - port: 1\n      targetport: 2\n", `unknown field "spec.ports[0].targetport"`},
		{"apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: d\n", "unknown kind"},
		{"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: p\nspec:\n  resources:\n    requests:\n      storage: lots\n", "quantities must match"},
	} {
		if _, err := DecodeAll([]byte("---\n" + c.doc)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("decoding\n%s\nerror %v, want %q", c.doc, err, c.want)
		}
	}
	objs, err := DecodeAll([]byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: registry, labels: {app: a}}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers:
        - name: c
          image: i
          ports: [{name: http, containerPort: 5000}]
          readinessProbe: {httpGet: {path: /readyz, port: htp}}
          volumeMounts: [{name: missing, mountPath: /x}]
          env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: nokey}}}]
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: registry}
data: {key: dmFsdWU=}
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: registry}
spec:
  selector: {app: b}
  ports: [{name: http, port: 80, targetPort: http}]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = CheckReferences(objs)
	for _, want := range []string{`no container port named "htp"`, `undeclared volume "missing"`, `has no key "nokey"`, "matches no Deployment"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("reference errors %v\nwant %q", err, want)
		}
	}
}

// serverVariables reads the BERTH_* names the example server's sources
// mention: package server's ApplyEnv and the command's BERTH_CONFIG.
func serverVariables(t *testing.T) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(`"(BERTH_[A-Z0-9_]+)"`)
	names := map[string]bool{}
	for _, dir := range []string{"server", filepath.Join("examples", "registry")} {
		files, err := filepath.Glob(filepath.Join("..", "..", "..", dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no sources in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllSubmatch(b, -1) {
				names[string(m[1])] = true
			}
		}
	}
	if !names["BERTH_ADDR"] || !names["BERTH_CONFIG"] {
		t.Fatalf("the server's variables were not found (%d names)", len(names))
	}
	return names
}

// checkServerVariables fails on a BERTH_* variable of the container the
// server does not read: a misspelt name would be ignored silently.
func checkServerVariables(t *testing.T, ct corev1.Container) {
	t.Helper()
	known := serverVariables(t)
	for _, e := range ct.Env {
		if strings.HasPrefix(e.Name, "BERTH_") && !known[e.Name] {
			t.Errorf("env %s: the server reads no such variable", e.Name)
		}
	}
}

// TestSplit: helm's separators and comment-only documents.
func TestSplit(t *testing.T) {
	docs := Split([]byte("---\n# Source: a.yaml\nkind: A\n---\n# Source: empty.yaml\n\n---\nkind: B\n"))
	if len(docs) != 2 || docs[0].Source != "a.yaml" || !bytes.Contains(docs[1].Body, []byte("kind: B")) {
		t.Errorf("split %+v", docs)
	}
}

// TestProbePathsServed: the probes' paths are routes of the server's
// sources.
func TestProbePathsServed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "server", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no server sources: %v", err)
	}
	var src []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	ct := render(t, nil, nil).container(t)
	for _, p := range []*corev1.Probe{ct.LivenessProbe, ct.ReadinessProbe, ct.StartupProbe} {
		if path := p.HTTPGet.Path; !bytes.Contains(src, []byte(`"`+path+`"`)) {
			t.Errorf("probe path %s is not a route of package server", path)
		}
	}
}
