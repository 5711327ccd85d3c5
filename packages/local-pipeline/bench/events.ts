/**
 * Deterministic Segment events for the benchmark: half identify, half track, shaped like what
 * analytics.js and the mobile libraries send (traits, properties, context with ip, page,
 * userAgent, app…). Event `i` depends only on (seed, i), so any range can be generated lazily
 * and every target sees byte-identical events.
 */
import type { SegmentEvent } from '@segment/actions-core'
import { mulberry32 as prng } from 'ortto-sandbox'

export type EventKind = 'identify' | 'track'

/** Mixes the run seed with an index so each event has its own independent stream. */
export const streamSeed = (seed: number, index: number): number =>
  Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ (index * 2654435761)

export class Picker {
  readonly next: () => number
  constructor(seed: number) {
    this.next = prng(seed)
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]
  }
  hex(length: number): string {
    let out = ''
    for (let i = 0; i < length; i++) out += Math.floor(this.next() * 16).toString(16)
    return out
  }
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`
  }
  money(min: number, max: number): number {
    return Math.round((min + this.next() * (max - min)) * 100) / 100
  }
}

const FIRST_NAMES = ['Olivia', 'Noah', 'Charlotte', 'Jack', 'Amelia', 'William', 'Isla', 'Oliver', 'Mia', 'Leo', 'Ava']
const LAST_NAMES = ['Smith', 'Nguyen', 'Williams', 'Brown', 'Wilson', 'Taylor', 'Johnson', 'White', 'Martin', 'Lee']
const PLANS = ['free', 'starter', 'professional', 'business', 'enterprise']
const INDUSTRIES = ['Retail', 'Software', 'Education', 'Healthcare', 'Finance', 'Media']
const ADDRESSES = [
  { street: '12 George St', city: 'Sydney', state: 'NSW', country: 'Australia', postal_code: '2000' },
  { street: '401 Collins St', city: 'Melbourne', state: 'VIC', country: 'Australia', postal_code: '3000' },
  { street: '55 Market St', city: 'San Francisco', state: 'CA', country: 'United States', postal_code: '94105' },
  { street: '10 Downing St', city: 'London', state: '', country: 'United Kingdom', postal_code: 'SW1A 2AA' },
  { street: 'Unter den Linden 5', city: 'Berlin', state: 'Berlin', country: 'Germany', postal_code: '10117' },
  { street: '1-1 Marunouchi', city: 'Tokyo', state: 'Tokyo', country: 'Japan', postal_code: '100-0005' }
]
const LOCALES = ['en-AU', 'en-US', 'en-GB', 'de-DE', 'ja-JP', 'fr-FR']
const TIMEZONES = ['Australia/Sydney', 'America/Los_Angeles', 'Europe/London', 'Europe/Berlin', 'Asia/Tokyo']
const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 Edg/123.0.0.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'
]
const PAGES = [
  { path: '/', title: 'Home | Acme Store' },
  { path: '/products/trail-runner-2', title: 'Trail Runner 2 | Acme Store' },
  { path: '/blog/how-we-ship', title: 'How we ship | Acme Blog' },
  { path: '/pricing', title: 'Pricing | Acme' },
  { path: '/checkout', title: 'Checkout | Acme Store' }
]
const PRODUCTS = [
  { product_id: 'p-1001', sku: 'TR2-BLK-42', name: 'Trail Runner 2', category: 'Shoes', brand: 'Acme', price: 149.95 },
  { product_id: 'p-1002', sku: 'WB-750-BLU', name: 'Water Bottle 750ml', category: 'Gear', brand: 'Acme', price: 24.5 },
  { product_id: 'p-1003', sku: 'JKT-RAIN-M', name: 'Rain Jacket', category: 'Apparel', brand: 'Northwind', price: 219 },
  {
    product_id: 'p-1004',
    sku: 'SCK-3PK-L',
    name: 'Running Socks (3 pack)',
    category: 'Apparel',
    brand: 'Acme',
    price: 19
  },
  { product_id: 'p-1005', sku: 'HDL-USB-C', name: 'Head Lamp', category: 'Gear', brand: 'Lumen', price: 59.9 }
]
const EVENT_NAMES = [
  'Product Viewed',
  'Product Viewed',
  'Product Added',
  'Order Completed',
  'Signed Up',
  'Article Read',
  'Button Clicked',
  'Subscription Renewed'
] as const

/** 2024-05-01T00:00:00Z; events are spread over the following hours. */
export const BASE_TIME = Date.UTC(2024, 4, 1)

interface User {
  userId?: string
  anonymousId: string
  first: string
  last: string
  email: string
  address?: (typeof ADDRESSES)[number]
  plan: string
}

export function userFor(seed: number, userIndex: number): User {
  const p = new Picker(streamSeed(seed ^ 0x5eed, userIndex))
  const first = p.pick(FIRST_NAMES)
  const last = p.pick(LAST_NAMES)
  return {
    // One user in ten is never identified: only an anonymous id.
    userId: p.chance(0.9) ? `usr_${(100000 + userIndex).toString(36)}${p.hex(6)}` : undefined,
    anonymousId: p.uuid(),
    first,
    last,
    email: `${first}.${last}.${userIndex}@example.com`.toLowerCase(),
    address: p.chance(0.7) ? p.pick(ADDRESSES) : undefined,
    plan: p.pick(PLANS)
  }
}

function webContext(p: Picker): Record<string, unknown> {
  const page = p.pick(PAGES)
  const context: Record<string, unknown> = {
    ip: `${p.int(11, 223)}.${p.int(0, 255)}.${p.int(0, 255)}.${p.int(1, 254)}`,
    library: { name: 'analytics.js', version: 'npm:next-1.70.0' },
    locale: p.pick(LOCALES),
    timezone: p.pick(TIMEZONES),
    userAgent: p.pick(USER_AGENTS),
    page: {
      path: page.path,
      referrer: p.chance(0.5) ? 'https://www.google.com/' : '',
      search: '',
      title: page.title,
      url: `https://shop.example.com${page.path}`
    }
  }
  if (p.chance(0.2)) context.campaign = { name: 'spring_sale', source: 'newsletter', medium: 'email' }
  return context
}

function mobileContext(p: Picker): Record<string, unknown> {
  return {
    ip: `${p.int(11, 223)}.${p.int(0, 255)}.${p.int(0, 255)}.${p.int(1, 254)}`,
    library: { name: 'analytics-ios', version: '4.1.8' },
    locale: p.pick(LOCALES),
    timezone: p.pick(TIMEZONES),
    app: { name: 'Acme Shop', version: '5.2.1', build: '521', namespace: 'com.example.shop' },
    device: { manufacturer: 'Apple', model: 'iPhone15,2', type: 'ios', id: p.uuid() },
    os: { name: 'iOS', version: '17.4.1' },
    network: { wifi: p.chance(0.6), cellular: p.chance(0.5) },
    screen: { width: 393, height: 852, density: 3 }
  }
}

function identifyTraits(p: Picker, user: User, userIndex: number): Record<string, unknown> {
  const traits: Record<string, unknown> = {
    email: user.email,
    first_name: user.first,
    last_name: user.last,
    name: `${user.first} ${user.last}`,
    plan: user.plan,
    created_at: new Date(BASE_TIME - userIndex * 3_600_000).toISOString(),
    logins: p.int(1, 400),
    newsletter: p.chance(0.4)
  }
  if (p.chance(0.7)) traits.phone = `+61 4${p.int(10, 99)} ${p.int(100, 999)} ${p.int(100, 999)}`
  if (user.address) traits.address = { ...user.address }
  if (p.chance(0.4))
    traits.company = { id: `c-${p.int(1, 5000)}`, name: `${user.last} Pty Ltd`, industry: p.pick(INDUSTRIES) }
  if (p.chance(0.3)) traits.avatar = `https://cdn.example.com/avatars/${p.hex(16)}.png`
  if (p.chance(0.1)) traits.title = p.pick(['CTO', 'Marketing Manager', 'Founder', 'Engineer'])
  // Forms leave blanks behind; a real stream has some.
  if (p.chance(0.05)) traits.middle_name = ''
  return traits
}

function trackProperties(p: Picker, event: string): Record<string, unknown> {
  const product = p.pick(PRODUCTS)
  switch (event) {
    case 'Product Viewed':
    case 'Product Added':
      return {
        ...product,
        variant: p.pick(['Black', 'Blue', 'Red']),
        quantity: 1,
        currency: 'AUD',
        position: p.int(1, 24),
        url: `https://shop.example.com/products/${product.product_id}`,
        image_url: `https://cdn.example.com/img/${product.sku}.jpg`,
        ...(event === 'Product Added' ? { cart_id: p.hex(16) } : {})
      }
    case 'Order Completed': {
      const products = Array.from({ length: p.int(1, 4) }, () => {
        const item = p.pick(PRODUCTS)
        return { product_id: item.product_id, sku: item.sku, name: item.name, price: item.price, quantity: p.int(1, 3) }
      })
      const subtotal = Math.round(products.reduce((sum, item) => sum + item.price * item.quantity, 0) * 100) / 100
      return {
        checkout_id: p.hex(20),
        order_id: `ORD-${p.int(100000, 999999)}`,
        affiliation: 'Online Store',
        subtotal,
        shipping: 9.95,
        tax: Math.round(subtotal * 10) / 100,
        total: Math.round((subtotal * 1.1 + 9.95) * 100) / 100,
        revenue: subtotal,
        discount: 0,
        coupon: p.chance(0.3) ? 'SPRING10' : '',
        currency: 'AUD',
        products
      }
    }
    case 'Signed Up':
      return { method: p.pick(['email', 'google', 'apple']), plan: p.pick(PLANS) }
    case 'Article Read':
      return {
        title: 'How we ship',
        url: 'https://shop.example.com/blog/how-we-ship',
        author: 'Acme Team',
        category: 'Engineering',
        read_time_seconds: p.int(20, 600)
      }
    case 'Button Clicked':
      // Some instrumentation sends no properties at all.
      return p.chance(0.5) ? {} : { label: p.pick(['Buy now', 'Subscribe', 'Learn more']), location: 'hero' }
    default:
      return { plan: p.pick(PLANS), amount: p.money(9, 99), currency: 'AUD', interval: p.pick(['month', 'year']) }
  }
}

/** Event `index` of the stream: even indexes are identify calls, odd ones track calls. */
export function benchEvent(seed: number, index: number, userCount: number): SegmentEvent {
  const p = new Picker(streamSeed(seed, index))
  const userIndex = p.int(0, userCount - 1)
  const user = userFor(seed, userIndex)
  const mobile = p.chance(0.2)
  const context = mobile ? mobileContext(p) : webContext(p)
  const time = BASE_TIME + index * 37 + p.int(0, 30)
  const timestamp = new Date(time).toISOString()
  const common = {
    messageId: mobile ? p.uuid().toUpperCase() : `ajs-next-${p.hex(32)}`,
    timestamp,
    originalTimestamp: timestamp,
    sentAt: new Date(time + p.int(5, 900)).toISOString(),
    receivedAt: new Date(time + p.int(900, 2000)).toISOString(),
    anonymousId: user.anonymousId,
    ...(user.userId ? { userId: user.userId } : {}),
    integrations: {}
  }
  if (index % 2 === 0) {
    return { ...common, type: 'identify', traits: identifyTraits(p, user, userIndex), context } as SegmentEvent
  }
  const event = p.pick(EVENT_NAMES)
  if (p.chance(0.3)) {
    // Some sources copy a few traits into every call's context.
    context.traits = user.address ? { email: user.email, address: { ...user.address } } : { email: user.email }
  }
  return { ...common, type: 'track', event, properties: trackProperties(p, event), context } as SegmentEvent
}

/** How many distinct users a stream of `events` events is spread over (about ten events each). */
export const userCountFor = (events: number): number => Math.max(100, Math.ceil(events / 10))

export const kindOf = (event: SegmentEvent): EventKind => (event.type === 'identify' ? 'identify' : 'track')
