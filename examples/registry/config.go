package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/berthreg/berth/server"
)

// loadConfig reads path (if not empty) over server.DefaultConfig, then
// applies the BERTH_* environment overrides, then validates. Errors name
// the offending key; unknown keys are errors too.
func loadConfig(path string, getenv func(string) string) (server.Config, error) {
	c := server.DefaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return c, err
	}
	return c, c.Validate()
}
