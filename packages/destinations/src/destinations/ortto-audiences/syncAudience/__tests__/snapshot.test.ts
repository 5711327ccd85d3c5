import { describeRequestSnapshots } from '../../../ortto/__tests__/__helpers__/request-snapshots'
import { syncAudienceSnapshots } from '../../__tests__/__helpers__/snapshot-cases'

describeRequestSnapshots(syncAudienceSnapshots)
