import ortto from './destinations/ortto'
import orttoAudiences from './destinations/ortto-audiences'

/** Destinations in this package, by the slug Segment's catalog knows them by. */
export const destinations = {
  'actions-ortto': ortto,
  'actions-ortto-audiences': orttoAudiences
}

export { ortto, orttoAudiences }
export default destinations
