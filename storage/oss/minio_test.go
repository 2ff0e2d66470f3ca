package oss

// The tests in this package run the OSS SDK against a real MinIO (started by
// scripts/minio.sh), not against Alibaba Cloud. MinIO speaks the S3 protocol,
// which OSS's resembles closely enough for every request this adapter makes
// (same paths, queries, XML bodies, ETags and error codes), but two things
// differ on the wire, and this file bridges them, in the tests only:
//
//   - Signatures. MinIO accepts only AWS signatures, so the client's signer
//     is replaced (through the SDK's own signer.Signer extension point) by
//     s3Signer, which signs with AWS Signature Version 4 (aws-sdk-go-v2's
//     aws/signer/v4; the production package does not import the AWS SDK),
//     in the Authorization header or, for presigned URLs, in the query.
//   - Header names. OSS spells its extension headers x-oss-*, S3 x-amz-*.
//     MinIO ignores headers it does not know, so an untranslated
//     x-oss-copy-source would turn UploadPartCopy into an empty UploadPart
//     and an untranslated x-oss-copy-source-if-match would drop the
//     condition. s3Signer renames the request headers this adapter sends
//     (copy source, copy condition, copy range, server-side encryption)
//     before signing, drops x-oss-range-behavior (S3's ranges always behave
//     the way that header asks for) and fails on any other x-oss-* header.
//     No response header needs translating: the adapter reads only standard
//     ones (ETag, Content-Length, Last-Modified, Content-Range) and XML
//     bodies.
//
// Requests also use path-style addressing (the SDK would pick it anyway for
// an IP endpoint) and are retried on AccessDenied, which MinIO on one drive
// can answer transiently to a write racing the removal of the last object
// under its prefix (see storage/s3).
//
// What this leaves uncovered, to be checked against real OSS:
//   - OSS's own signature (OSS4-HMAC-SHA256, in headers and in presigned
//     URLs), the STS token, and the region in the signing scope;
//   - OSS-specific behaviour behind those headers: that OSS honours
//     x-oss-copy-source-if-match with the quoted ETags it returns, the
//     x-oss-copy-source-range syntax, x-oss-range-behavior: standard (416
//     rather than the whole object for an offset at or past the end), and
//     that OSS encrypts with x-oss-server-side-encryption as MinIO does with
//     the S3 header it becomes here (TestServerSideEncryption checks every
//     write path against MinIO's KMS key);
//   - OSS's limits: parts down to 100 KiB (MinIO's minimum is 5 MiB, so
//     these tests raise the driver's MinPartSize to 5 MiB), the 1 GiB
//     CopyObject limit, and the SDK's CRC-64 checks of uploads (OSS returns
//     x-oss-hash-crc64ecma, MinIO does not, so the SDK skips the check);
//   - real endpoint selection: virtual-hosted addressing of
//     <bucket>.oss-<region>[-internal].aliyuncs.com over https (only the
//     derivation of the URL is unit-tested, in TestEndpoint), and OSS's
//     x-oss-err header that carries the code of a HEAD error.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/retry"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/signer"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func init() {
	clientHook = s3Compatible
}

// s3Compatible makes a client talk to an S3 server: AWS signatures and
// header names, path-style addressing, AccessDenied retried.
func s3Compatible(o *oss.Options) {
	o.Signer = &s3Signer{v4: v4.NewSigner(func(so *v4.SignerOptions) {
		// The SDK has escaped the path already, as S3 expects it in
		// the canonical request; don't escape it twice.
		so.DisableURIPathEscaping = true
	})}
	o.UrlStyle = oss.UrlStylePath
	o.Retryer = minioRetryer{o.Retryer}
}

// unsignedPayload is the payload hash of a request whose body the signature
// does not cover (TLS or, here, loopback protects it).
const unsignedPayload = "UNSIGNED-PAYLOAD"

// s3Signer is a signer.Signer that turns the OSS SDK's request into an S3
// request signed with AWS Signature Version 4.
type s3Signer struct {
	v4 *v4.Signer
}

// s3Headers maps the x-oss-* request headers the adapter sends to their S3
// names; "" drops the header.
var s3Headers = map[string]string{
	"x-oss-copy-source":                   "x-amz-copy-source",
	"x-oss-copy-source-if-match":          "x-amz-copy-source-if-match",
	"x-oss-copy-source-range":             "x-amz-copy-source-range",
	"x-oss-server-side-encryption":        "x-amz-server-side-encryption",
	"x-oss-server-side-encryption-key-id": "x-amz-server-side-encryption-aws-kms-key-id",
	"x-oss-range-behavior":                "",
}

// toS3Headers renames h's x-oss-* headers to their S3 equivalents.
func toS3Headers(h http.Header) error {
	for name, vals := range h {
		low := strings.ToLower(name)
		if !strings.HasPrefix(low, "x-oss-") {
			continue
		}
		s3name, ok := s3Headers[low]
		if !ok {
			return fmt.Errorf("s3Signer: header %s has no S3 equivalent here", name)
		}
		h.Del(name)
		if s3name == "" {
			continue
		}
		if s3name == "x-amz-server-side-encryption" && len(vals) == 1 && vals[0] == "KMS" {
			vals = []string{"aws:kms"}
		}
		h[http.CanonicalHeaderKey(s3name)] = vals
	}
	return nil
}

// Sign implements signer.Signer.
func (s *s3Signer) Sign(ctx context.Context, sc *signer.SigningContext) error {
	req := sc.Request
	if err := toS3Headers(req.Header); err != nil {
		return err
	}
	creds := aws.Credentials{
		AccessKeyID:     sc.Credentials.AccessKeyID,
		SecretAccessKey: sc.Credentials.AccessKeySecret,
		SessionToken:    sc.Credentials.SecurityToken,
	}
	region := oss.ToString(sc.Region)
	now := time.Now()
	if !sc.AuthMethodQuery {
		req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		return s.v4.SignHTTP(ctx, creds, req, unsignedPayload, "s3", region, now)
	}
	// A presigned URL: the SDK passes its expiry time in sc.Time.
	expires := 15 * time.Minute
	if !sc.Time.IsZero() {
		expires = sc.Time.Sub(now).Round(time.Second)
	}
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.FormatInt(int64(expires/time.Second), 10))
	req.URL.RawQuery = q.Encode()
	signed, _, err := s.v4.PresignHTTP(ctx, creds, req, unsignedPayload, "s3", region, now)
	if err != nil {
		return err
	}
	u, err := url.Parse(signed)
	if err != nil {
		return err
	}
	req.URL = u
	return nil
}

// minioRetryer also retries AccessDenied (see the comment at the top).
type minioRetryer struct {
	retry.Retryer
}

// IsErrorRetryable implements retry.Retryer.
func (r minioRetryer) IsErrorRetryable(err error) bool {
	var se *oss.ServiceError
	return r.Retryer.IsErrorRetryable(err) || (errors.As(err, &se) && se.Code == "AccessDenied")
}
