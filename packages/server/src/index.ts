/**
 * @wid/server: wid issuance service: rules, signing, audit and CA storage behind the IssuanceService interface.
 */
export {};
