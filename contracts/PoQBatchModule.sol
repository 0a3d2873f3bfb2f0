// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PoQBase} from "./PoQBase.sol";
import {PoQDraw} from "./PoQDraw.sol";
import {PoQSettlement} from "./PoQSettlement.sol";

/// @title PoQBatchModule: a batch's draw and settlement, run by the PoQ contract's delegatecall
/// @notice The two once-per-batch computations live in a contract of their own so that each deployed
///         contract stays under the 24 KiB code limit (EIP-170). Deployed with the same parameters as
///         the ProofOfQuality that calls it (whose constructor checks the hash of both), it holds no
///         state: its code runs in the PoQ contract's storage and emits the PoQ contract's events, and
///         called directly it reverts.
contract PoQBatchModule is PoQDraw, PoQSettlement {
    address private immutable SELF = address(this);

    constructor(Params memory p) PoQBase(p) {}

    /// @notice Draw batch `batchId` of the calling PoQ contract (IProofOfQuality.draw).
    function draw(uint256 batchId) external {
        if (address(this) == SELF) revert NotDelegated();
        _draw(batchId);
    }

    /// @notice Settle batch `batchId` of the calling PoQ contract (IProofOfQuality.finalize).
    function settle(uint256 batchId, uint16[][] calldata revealed, uint16[2][] calldata middles) external {
        if (address(this) == SELF) revert NotDelegated();
        _finalize(batchId, revealed, middles);
    }

    /// @notice The hash of this module's parameters (treasury resolved), which the PoQ contract matches.
    function paramsHash() external view returns (bytes32) {
        return _paramsHash();
    }
}
