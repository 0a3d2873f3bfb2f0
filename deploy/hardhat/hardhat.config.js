// Hardhat's node as poq's second EVM client (docs/evm-clients.md). Only the in-process network
// "hardhat" is configured: `hardhat node --config deploy/hardhat/hardhat.config.js` serves it over
// JSON-RPC. poq compiles with its own pinned solc, so nothing here compiles.
//
// deploy/localchain.py sets these environment variables when it starts the node:
//   POQ_HARDHAT_CHAIN_ID    chain id (default 31337, the same as anvil's)
//   POQ_HARDHAT_BLOCK_TIME  seconds between blocks; set, it turns automine off (anvil --block-time)
//   POQ_HARDHAT_WORKDIR     where Hardhat may keep its cache (default: the OS temp dir)
const os = require("os");
const path = require("path");

const chainId = Number(process.env.POQ_HARDHAT_CHAIN_ID || 31337);
const blockTime = process.env.POQ_HARDHAT_BLOCK_TIME ? Number(process.env.POQ_HARDHAT_BLOCK_TIME) : null;
const workdir = process.env.POQ_HARDHAT_WORKDIR || path.join(os.tmpdir(), "poq-hardhat");

module.exports = {
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      chainId,
      // anvil's defaults: the "test test ... junk" mnemonic, 10 accounts of 10,000 ETH each.
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        path: "m/44'/60'/0'/0",
        count: 10,
        accountsBalance: "10000000000000000000000",
      },
      mining: blockTime === null ? { auto: true, interval: 0 } : { auto: false, interval: Math.round(blockTime * 1000) },
      blockGasLimit: 30000000,
      allowUnlimitedContractSize: false,
      loggingEnabled: false, // `hardhat node` otherwise logs every request (anvil runs --silent)
    },
  },
  paths: {
    root: __dirname,
    sources: path.join(__dirname, "contracts-none"),
    cache: path.join(workdir, "cache"),
    artifacts: path.join(workdir, "artifacts"),
  },
};
