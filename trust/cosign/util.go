package cosign

import (
	"encoding/hex"
	"time"
)

// timeZero leaves a key's validity unbounded.
var timeZero time.Time

func hexBytes(s string) ([]byte, error) { return hex.DecodeString(s) }
