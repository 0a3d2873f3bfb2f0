// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PoQBase} from "./PoQBase.sol";

/// @title PoQPools: stake-ranked pools and the snapshots undrawn batches are drawn from
/// @notice A pool holds at most maxPoolSize nodes. When it is full, a stake larger than the lowest
///         member's takes that member's place (the evicted node waits on Standby), so minimum-stake
///         keys cannot lock out a larger stake; draws weigh each member by its stake units, so a slot
///         buys seats only in proportion to its stake.
///         Draws must see the pools as they stood when a batch was opened: a change (a registration, an
///         exit, a stake moving across a unit) made while an undrawn batch refers to the current pools
///         first keeps a copy of them for that batch, so nothing done after a batch was opened, once its
///         draw block's hash is known, can move its draw.
abstract contract PoQPools is PoQBase {
    // ================================================================ pools

    /// @dev Puts an Active-to-be node in its pool, evicting the lowest stake when the pool is full and
    ///      the node's stake is larger. False when the full pool's lowest stake is at least the node's.
    function _enterPool(address account, Node storage nd) internal returns (bool) {
        uint256 r = _roleIndex(nd.role);
        uint256 size = _poolSizes[r];
        if (size >= MAX_POOL_SIZE) {
            (uint256 lowest, uint256 at) = _lowest(r);
            if (nd.stake <= lowest) return false;
            address evicted = _nodeAt[_entryId(r, at)];
            Node storage out = _nodes[evicted];
            _leavePool(out);
            out.status = Status.Standby;
            emit NodeEvicted(evicted, account, out.stake);
            size -= 1;
        }
        _touchPools();
        nd.poolIndex = uint8(size);
        nd.status = Status.Active;
        _writeEntry(r, size, nd.id, _units(nd.stake));
        _poolSizes[r] = uint8(size + 1);
        return true;
    }

    /// @dev Swap-and-pop by the node's stored pool index.
    function _leavePool(Node storage nd) internal {
        uint256 r = _roleIndex(nd.role);
        _touchPools();
        uint256 last = _poolSizes[r] - 1;
        uint256 index = nd.poolIndex;
        if (index != last) {
            (uint256 word, uint256 shift) = _poolWord(r, last);
            uint256 lane = (_poolWords[word] >> shift) & type(uint64).max;
            _writeEntry(r, index, uint32(lane), uint32(lane >> 32));
            _nodes[_nodeAt[uint32(lane)]].poolIndex = uint8(index);
        }
        _writeEntry(r, last, 0, 0);
        _poolSizes[r] = uint8(last);
    }

    /// @dev Re-weighs an Active node after its stake changed; a change within the same unit is free.
    function _setUnits(Node storage nd) internal {
        uint256 r = _roleIndex(nd.role);
        (uint256 word, uint256 shift) = _poolWord(r, nd.poolIndex);
        uint256 units = _units(nd.stake);
        if ((_poolWords[word] >> (shift + 32)) & type(uint32).max == units) return;
        _touchPools();
        _writeEntry(r, nd.poolIndex, nd.id, units);
    }

    /// @dev Before the pools change: if the newest batch is undrawn and refers to the live pools, keep a
    ///      copy under its version and move the live pools to a new version. Draws go in order, so the
    ///      newest batch is the only one that can still refer to the live pools.
    function _touchPools() internal {
        uint64 newest = _batchCount;
        if (newest == _drawnCount || _batches[newest].poolVersion != _poolVersion) return;
        uint32 version = _poolVersion;
        _archivedSizes[version] = _poolSizes;
        for (uint256 r; r < 2; ++r) {
            uint256 used = (uint256(_poolSizes[r]) + 3) / 4;
            for (uint256 w; w < used; ++w) {
                _archivedWords[version][r * POOL_WORDS + w] = _poolWords[r * POOL_WORDS + w];
            }
        }
        _poolVersion = version + 1;
    }

    function _writeEntry(uint256 r, uint256 i, uint256 id, uint256 units) internal {
        (uint256 word, uint256 shift) = _poolWord(r, i);
        uint256 mask = uint256(type(uint64).max) << shift;
        _poolWords[word] = (_poolWords[word] & ~mask) | ((id | (units << 32)) << shift);
    }

    function _entryId(uint256 r, uint256 i) internal view returns (uint32) {
        (uint256 word, uint256 shift) = _poolWord(r, i);
        return uint32(_poolWords[word] >> shift);
    }

    /// @dev The lowest stake in a role's live pool and its entry index (ties: the earliest entry).
    function _lowest(uint256 r) internal view returns (uint256 lowest, uint256 at) {
        lowest = type(uint256).max;
        for (uint256 i; i < _poolSizes[r]; ++i) {
            uint256 stake = _nodes[_nodeAt[_entryId(r, i)]].stake;
            if (stake < lowest) (lowest, at) = (stake, i);
        }
    }

    function _lowestStake(uint256 r) internal view returns (uint256 lowest) {
        (lowest,) = _lowest(r);
    }
}
