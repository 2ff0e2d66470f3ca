package server

import (
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// resourceFor describes this process to the collector: its service name
// and what the SDK detects by default.
func resourceFor(service string) (*resource.Resource, error) {
	return resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
}
