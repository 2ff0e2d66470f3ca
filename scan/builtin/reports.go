package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	cyclonedx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/osv-scalibr/converter"
	"github.com/google/osv-scalibr/converter/spdx"
	"github.com/google/osv-scalibr/inventory"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"

	"github.com/berthreg/berth/scan"
)

// scan pulls j's image, lists its packages and makes the reports j
// wants, keyed by reportKey. Errors name the step that failed.
func (s *Scanner) scan(ctx context.Context, j *job) (map[string][]byte, error) {
	img, err := s.pull(ctx, j.ref, j.req.Registry.Authorization)
	if err != nil {
		return nil, err
	}
	artifact := j.req.Artifact
	if artifact.MimeType == "" {
		if mt, err := img.MediaType(); err == nil {
			artifact.MimeType = string(mt)
		}
	}
	inv, err := s.inventory(ctx, img)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	out := map[string][]byte{}
	if j.want.vuln {
		vs := s.vulnerabilities(inv)
		b, err := json.Marshal(scan.VulnerabilityReport{GeneratedAt: now, Artifact: artifact, Scanner: s.info,
			Severity: scan.Highest(vs), Vulnerabilities: vs})
		if err != nil {
			return nil, fmt.Errorf("writing the vulnerability report: %w", err)
		}
		out[reportKey(scan.MimeVulnReport, "")] = b
	}
	for _, t := range j.want.sboms {
		sbom, err := s.sbom(inv, artifact, t)
		if err != nil {
			return nil, fmt.Errorf("writing the %s SBOM: %w", t, err)
		}
		b, err := json.Marshal(scan.SBOMReport{GeneratedAt: now, Artifact: artifact, Scanner: s.info, MediaType: t, SBOM: sbom,
			VendorAttributes: map[string]any{"packages": len(inv.Packages)}})
		if err != nil {
			return nil, fmt.Errorf("writing the %s SBOM report: %w", t, err)
		}
		out[reportKey(scan.MimeSBOMReport, t)] = b
	}
	return out, nil
}

// sbom is inv as an SPDX 2.3 or CycloneDX JSON document (decoded, for
// scan.SBOMReport), made by osv-scalibr's converters.
func (s *Scanner) sbom(inv inventory.Inventory, a scan.Artifact, mediaType string) (map[string]any, error) {
	subject := a.Repository + "@" + a.Digest
	var buf bytes.Buffer
	switch mediaType {
	case scan.MimeSPDX:
		doc := converter.ToSPDX23(inv, spdx.Config{
			DocumentName:      subject,
			DocumentNamespace: "urn:berth:spdx:" + subject + ":" + newID(),
			Creators:          []common.Creator{{CreatorType: "Tool", Creator: "berth-builtin-scanner-" + s.info.Version}},
		})
		if err := spdxjson.Write(doc, &buf); err != nil {
			return nil, err
		}
	case scan.MimeCycloneDX:
		bom := converter.ToCDX(inv, converter.CDXConfig{ComponentName: a.Repository, ComponentVersion: a.Digest,
			ComponentType: string(cyclonedx.ComponentTypeContainer)})
		if err := cyclonedx.NewBOMEncoder(&buf, cyclonedx.BOMFileFormatJSON).Encode(bom); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: SBOM type %q", scan.ErrUnsupported, mediaType)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		return nil, err
	}
	return m, nil
}
