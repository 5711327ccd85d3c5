// Every jest run, however it is started, runs in Pacific/Chatham (UTC+12:45, +13:45 in summer):
// code that reads a time in the host's zone instead of UTC shows there. Workers inherit it.
module.exports = () => {
  process.env.TZ = 'Pacific/Chatham'
}
