package webhook_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/berthreg/berth/webhook"
)

// A receiver checks a delivery's signature before trusting its body.
func Example() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"type":"PUSH_ARTIFACT"}`)
	h := http.Header{}
	webhook.Sign(h, secret, "00000000000000000001", time.Now(), body) // what Berth sends

	fmt.Println(webhook.Verify(h, secret, body, time.Now(), 5*time.Minute))
	fmt.Println(webhook.Verify(h, secret, []byte(`{"type":"forged"}`), time.Now(), 5*time.Minute))
	fmt.Println(webhook.CloudEventType("PUSH_ARTIFACT"))
	// Output:
	// <nil>
	// webhook: bad signature
	// harbor.artifact.pushed
}
