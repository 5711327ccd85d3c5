// Generated file. DO NOT MODIFY IT BY HAND.

export interface OnMappingSaveInputs {
  /**
   * The name of the Ortto Audience to link the Contact to.
   */
  audience_name?: string
}

export interface OnMappingSaveOutputs {
  /**
   * The ID of the Ortto Audience Contacts will be linked to.
   */
  audience_id?: string
  /**
   * The name of the Ortto Audience Contacts will be linked to.
   */
  audience_name?: string
}
