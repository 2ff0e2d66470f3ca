// Package validate checks what Berth's Helm chart (deploy/helm/berth)
// renders, offline: it runs `helm template`, splits the output into
// objects, decodes each one strictly into its Kubernetes API type (an
// unknown field, a duplicate key or an unknown kind is an error), and
// checks the references between the objects (selectors, ports, volumes,
// Secrets, claims) the API server would accept but a cluster would not
// run.
//
// It is a module of its own so that the Kubernetes libraries stay out of
// Berth's go.mod. Its tests (validate_test.go) are the chart's test suite;
// scripts/helm-check.sh runs them after helm lint.
package validate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// KubeVersion is the Kubernetes version Render hands helm: a helm built
// with `go install` (scripts/tools.sh) assumes v1.20, older than the
// chart's kubeVersion.
const KubeVersion = "1.31.0"

// HelmEnv names the variable that gives the helm binary's path.
const HelmEnv = "BERTH_HELM"

// HelmBinary returns the helm binary to run: $BERTH_HELM, else the one
// scripts/tools.sh installs, .tools/bin/helm at the repository's top
// (three levels above this package's directory, where go test runs).
func HelmBinary() (string, error) {
	if p := os.Getenv(HelmEnv); p != "" {
		return p, nil
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "..", ".tools", "bin", "helm"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no helm at %s (run scripts/tools.sh helm, or set %s): %w", p, HelmEnv, err)
	}
	return p, nil
}

// Render runs `helm template RELEASE CHART` in namespace with the values
// files and --set assignments given, and returns what it printed. A
// failing helm (a template's fail, a values schema violation) is an error
// that holds helm's message.
func Render(helm, chart, release, namespace string, valuesFiles, sets []string) ([]byte, error) {
	args := []string{"template", release, chart, "--namespace", namespace, "--kube-version", KubeVersion}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Document is one YAML document of helm's output.
type Document struct {
	// Source is the template that rendered it (helm's "# Source:" line),
	// or "" when the document does not say.
	Source string
	// Body is the document's text.
	Body []byte
}

// Split cuts a stream of YAML documents at its "---" lines and drops the
// documents that hold nothing but comments and blank lines (a template
// whose condition was false).
func Split(stream []byte) []Document {
	var docs []Document
	var cur []string
	flush := func() {
		d := Document{Body: []byte(strings.Join(cur, "\n") + "\n")}
		empty := true
		for _, l := range cur {
			t := strings.TrimSpace(l)
			if src, ok := strings.CutPrefix(t, "# Source:"); ok && d.Source == "" {
				d.Source = strings.TrimSpace(src)
			}
			if t != "" && !strings.HasPrefix(t, "#") {
				empty = false
			}
		}
		if !empty {
			docs = append(docs, d)
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(string(stream), "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs
}

// Object is a decoded document.
type Object struct {
	// Source is the template that rendered it.
	Source string
	// GVK is its apiVersion and kind.
	GVK schema.GroupVersionKind
	// Meta is its metadata.
	Meta *metav1.ObjectMeta
	// Value is a pointer to its API type: *appsv1.Deployment,
	// *corev1.Service, *monitoringv1.ServiceMonitor, …
	Value any
}

// String names the object as kubectl does: Kind/name.
func (o Object) String() string { return o.GVK.Kind + "/" + o.Meta.Name }

// kinds maps each apiVersion and kind the chart may render to its Go
// type; a kind missing here fails Decode, so a new template cannot slip
// past the strict decoding.
var kinds = map[schema.GroupVersionKind]func() (any, *metav1.ObjectMeta){
	corev1.SchemeGroupVersion.WithKind("ConfigMap"): func() (any, *metav1.ObjectMeta) {
		o := &corev1.ConfigMap{}
		return o, &o.ObjectMeta
	},
	corev1.SchemeGroupVersion.WithKind("Secret"): func() (any, *metav1.ObjectMeta) {
		o := &corev1.Secret{}
		return o, &o.ObjectMeta
	},
	corev1.SchemeGroupVersion.WithKind("Service"): func() (any, *metav1.ObjectMeta) {
		o := &corev1.Service{}
		return o, &o.ObjectMeta
	},
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"): func() (any, *metav1.ObjectMeta) {
		o := &corev1.ServiceAccount{}
		return o, &o.ObjectMeta
	},
	corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"): func() (any, *metav1.ObjectMeta) {
		o := &corev1.PersistentVolumeClaim{}
		return o, &o.ObjectMeta
	},
	appsv1.SchemeGroupVersion.WithKind("Deployment"): func() (any, *metav1.ObjectMeta) {
		o := &appsv1.Deployment{}
		return o, &o.ObjectMeta
	},
	networkingv1.SchemeGroupVersion.WithKind("Ingress"): func() (any, *metav1.ObjectMeta) {
		o := &networkingv1.Ingress{}
		return o, &o.ObjectMeta
	},
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"): func() (any, *metav1.ObjectMeta) {
		o := &policyv1.PodDisruptionBudget{}
		return o, &o.ObjectMeta
	},
	monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.ServiceMonitorsKind): func() (any, *metav1.ObjectMeta) {
		o := &monitoringv1.ServiceMonitor{}
		return o, &o.ObjectMeta
	},
}

// Decode decodes a document into the Go type of its apiVersion and kind,
// strictly: a field the type does not have, or a key given twice, is an
// error, as is a kind the table does not know.
func Decode(d Document) (Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(d.Body, &tm); err != nil {
		return Object{}, fmt.Errorf("%s: %w", d.Source, err)
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	newObj, ok := kinds[gvk]
	if !ok {
		return Object{}, fmt.Errorf("%s: unknown kind %q of apiVersion %q: add its type to the kind table", d.Source, tm.Kind, tm.APIVersion)
	}
	v, meta := newObj()
	// As the API server decodes: YAML to JSON refusing duplicate keys,
	// then JSON into the type with case-sensitive field names (Go's
	// encoding/json would take "containerport" for containerPort),
	// unknown and duplicate fields reported.
	j, err := yaml.YAMLToJSONStrict(d.Body)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %s: %w", d.Source, tm.Kind, err)
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %s: %w", d.Source, tm.Kind, err)
	}
	if len(strict) > 0 {
		return Object{}, fmt.Errorf("%s: %s %s: %w", d.Source, tm.Kind, meta.Name, errors.Join(strict...))
	}
	return Object{Source: d.Source, GVK: gvk, Meta: meta, Value: v}, nil
}

// DecodeAll splits helm's output and decodes every document.
func DecodeAll(stream []byte) ([]Object, error) {
	var objs []Object
	var errs []error
	for _, d := range Split(stream) {
		o, err := Decode(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, o)
	}
	return objs, errors.Join(errs...)
}

// Find returns the objects of type T (a pointer type, e.g.
// *corev1.Service), in the order helm rendered them.
func Find[T any](objs []Object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.Value.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// CheckMeta checks each object's metadata as the API server would: its
// name (a DNS-1035 label for a Service, a DNS-1123 subdomain otherwise),
// namespace, labels and annotations.
func CheckMeta(objs []Object, namespace string) error {
	var errs []error
	seen := map[string]bool{}
	for _, o := range objs {
		nameFn := apivalidation.NameIsDNSSubdomain
		if o.GVK.Kind == "Service" {
			nameFn = apivalidation.NameIsDNS1035Label
		}
		for _, e := range apivalidation.ValidateObjectMeta(o.Meta, true, nameFn, field.NewPath("metadata")) {
			errs = append(errs, fmt.Errorf("%s: %s", o, e))
		}
		if o.Meta.Namespace != namespace {
			errs = append(errs, fmt.Errorf("%s: namespace %q, want %q", o, o.Meta.Namespace, namespace))
		}
		if seen[o.String()] {
			errs = append(errs, fmt.Errorf("%s rendered twice", o))
		}
		seen[o.String()] = true
	}
	return errors.Join(errs...)
}
