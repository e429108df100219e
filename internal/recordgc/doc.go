// Package recordgc deletes ImageVerifications that approve nothing any
// more: expired records, records whose status was never written, and
// records of a policy that changed or is gone. It runs in the
// `imagegate controller` binary, on the leader only, every
// --record-gc-interval, and counts what it deleted in
// imagegate_records_collected_total.
//
// A record is deleted only a grace period after it stopped approving, so
// that one being refreshed is not raced, and only with a precondition on
// the UID and resourceVersion it was judged by, so that a record written
// again since is never deleted.
//
// It reads records and policies through a client.Reader (the manager's
// informer cache) and must not import gate, admission or Git code.
package recordgc
