// Generated file. DO NOT MODIFY IT BY HAND.

export interface Settings {
  /**
   * Ortto API key
   */
  api_key: string
}
