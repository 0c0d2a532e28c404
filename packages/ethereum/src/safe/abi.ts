/**
 * The Safe v1.4.1 contract functions and events mofn calls, as typed ABI fragments
 * (parsed by viem from their Solidity signatures, so calls and results are type-checked).
 */
import { parseAbi } from 'viem';

/** Safe / SafeL2 v1.4.1 (the parts mofn uses). */
export const SAFE_ABI = parseAbi([
  'function setup(address[] _owners, uint256 _threshold, address to, bytes data, address fallbackHandler, address paymentToken, uint256 payment, address paymentReceiver)',
  'function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures) payable returns (bool success)',
  'function getTransactionHash(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address _refundReceiver, uint256 _nonce) view returns (bytes32)',
  'function domainSeparator() view returns (bytes32)',
  'function getOwners() view returns (address[])',
  'function getThreshold() view returns (uint256)',
  'function nonce() view returns (uint256)',
  'function VERSION() view returns (string)',
  'function getChainId() view returns (uint256)',
  'function approveHash(bytes32 hashToApprove)',
  'function approvedHashes(address owner, bytes32 hash) view returns (uint256)',
  'function getModulesPaginated(address start, uint256 pageSize) view returns (address[] array, address next)',
  'function getStorageAt(uint256 offset, uint256 length) view returns (bytes)',
  'event ExecutionSuccess(bytes32 indexed txHash, uint256 payment)',
  'event ExecutionFailure(bytes32 indexed txHash, uint256 payment)',
]);

/** SafeProxyFactory v1.4.1. */
export const SAFE_PROXY_FACTORY_ABI = parseAbi([
  'function createProxyWithNonce(address _singleton, bytes initializer, uint256 saltNonce) returns (address proxy)',
  'function proxyCreationCode() pure returns (bytes)',
  'event ProxyCreation(address indexed proxy, address singleton)',
]);

/**
 * The Safe's self-authorized administration functions (OwnerManager, ModuleManager, GuardManager,
 * FallbackManager): each can only be reached by a SafeTx that calls the Safe itself.
 */
export const SAFE_ADMIN_ABI = parseAbi([
  'function addOwnerWithThreshold(address owner, uint256 _threshold)',
  'function removeOwner(address prevOwner, address owner, uint256 _threshold)',
  'function swapOwner(address prevOwner, address oldOwner, address newOwner)',
  'function changeThreshold(uint256 _threshold)',
  'function enableModule(address module)',
  'function disableModule(address prevModule, address module)',
  'function setGuard(address guard)',
  'function setFallbackHandler(address handler)',
]);

/** MultiSend / MultiSendCallOnly v1.4.1: one function taking the packed batch. */
export const MULTISEND_ABI = parseAbi(['function multiSend(bytes transactions) payable']);

/** The legacy EIP-1271 interface Safe v1.4.1 calls on a contract owner (magic value 0x20c13b0b). */
export const SIGNATURE_VALIDATOR_ABI = parseAbi(['function isValidSignature(bytes _data, bytes _signature) view returns (bytes4)']);

/** The ERC-20 functions mofn decodes and calls. */
export const ERC20_ABI = parseAbi([
  'function transfer(address to, uint256 amount) returns (bool)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function transferFrom(address from, address to, uint256 amount) returns (bool)',
  'function balanceOf(address account) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function symbol() view returns (string)',
  'function decimals() view returns (uint8)',
  'function name() view returns (string)',
]);
