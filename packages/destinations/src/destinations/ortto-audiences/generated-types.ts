// Generated file. DO NOT MODIFY IT BY HAND.

export interface Settings {
  /**
   * Ortto API key
   */
  api_key: string
}
// Generated file. DO NOT MODIFY IT BY HAND.

export interface AudienceSettings {
  /**
   * The name of the Audience in Ortto
   */
  audienceName: string
}
