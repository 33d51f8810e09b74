package dcr_test

import (
	"testing"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/dcr/dcrtest"
)

func TestMemoryStoreContract(t *testing.T) {
	dcrtest.RunStoreContract(t, func(*testing.T) dcr.Store { return dcr.NewMemoryStore() })
}
