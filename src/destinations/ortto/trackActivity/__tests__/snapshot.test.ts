import { describeRequestSnapshots } from '../../__tests__/__helpers__/request-snapshots'

describeRequestSnapshots('trackActivity')
