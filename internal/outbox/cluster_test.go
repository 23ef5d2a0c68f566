package outbox_test

import (
	"testing"

	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestOnCluster runs the suite again on a 3-master Redis Cluster: every
// script's keys must share a hash slot there.
func TestOnCluster(t *testing.T) {
	redistest.OnCluster(t, TestRelayPublishesInOrderWithCloudEventProperties, TestRelaySurvivesCutConnection, TestRelayCrashBetweenConfirmAndDeleteRepublishes, TestCrashDuplicateIsDroppedByTheTimelineInbox, TestOneRelayPerOutbox, TestStalledRenewalNeverPublishesConcurrently)
}
