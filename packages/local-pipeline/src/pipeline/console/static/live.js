/**
 * The live stream: server-sent events from /console/live, one `state` event whenever the
 * pipeline's state changes (at most once a second). The browser reopens a lost stream by itself
 * and sends the credentials it took at the prompt; `onStatus` says whether the page is live.
 */
export function connectLive(onState, onStatus) {
  const source = new EventSource('/console/live')
  source.addEventListener('state', (event) => onState(JSON.parse(event.data)))
  source.addEventListener('open', () => onStatus('live'))
  source.addEventListener('error', () =>
    onStatus(source.readyState === EventSource.CLOSED ? 'stopped' : 'reconnecting')
  )
  return () => source.close()
}
