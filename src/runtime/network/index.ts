export { parsePublish, formatMapping, type PortMapping } from './publish.js';
export {
  NetworkManager,
  DEFAULT_NETWORK,
  type Attachment,
  type AttachOptions,
  type NetworkInfo,
  type NetworkManagerOptions,
} from './network-manager.js';
