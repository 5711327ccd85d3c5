import { CONTACT_ACTIONS } from '../../__tests__/__helpers__/ortto'
import { snapshotTarget } from '../../__tests__/__helpers__/request-capture'
import { describeRequestSnapshots } from '../../__tests__/__helpers__/request-snapshots'

// Both contact keys must send exactly the same requests, so they share one snapshot file.
CONTACT_ACTIONS.map(snapshotTarget).forEach(describeRequestSnapshots)
