/**
 * Normalisation of device answers into the model of docs/architecture.md#normalised-output, by family: iot/normalise.ts
 * (Kasa JSON) and smart/normalise.ts (Tapo / SMART), over the field readers (fields.ts) and the
 * capabilities (caps.ts). This module only gathers them for callers that want all of it.
 */
export * from './fields';
export * from './caps';
export * from './iot/normalise';
export * from './smart/normalise';
