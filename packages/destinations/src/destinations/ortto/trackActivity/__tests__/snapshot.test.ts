import { snapshotTarget } from '../../__tests__/__helpers__/request-capture'
import { describeRequestSnapshots } from '../../__tests__/__helpers__/request-snapshots'

describeRequestSnapshots(snapshotTarget('trackActivity'))
