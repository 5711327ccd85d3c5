import ortto from './destinations/ortto'

/** Destinations in this package, by the slug Segment's catalog knows them by. */
export const destinations = {
  'actions-ortto': ortto
}

export { ortto }
export default destinations
