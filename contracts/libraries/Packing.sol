// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MAX_K} from "./Wad.sol";

/// @title The packed per-batch records: seats (a task's node and panel) and participants
/// @notice A batch's draw names each participant once, inference nodes first; tasks and the
///         participants' state then refer to them by index (< 255), so settlement never stores an
///         address per task.
///         - task lane (32 bits, 8 per storage word): byte 0 the node's participant index, bytes 1..3
///           the panel's seats (EMPTY past K);
///         - participant lane (64 bits, 4 per word): node id (32), items (16: tasks or seats), flags (8).
/// @dev The seat logic of the contract lives here and nowhere else.
library Packing {
    uint256 internal constant TASKS_PER_WORD = 8;
    uint256 internal constant PARTICIPANTS_PER_WORD = 4;
    uint256 internal constant EMPTY = 0xFF;

    uint8 internal constant ANSWERED = 1;
    uint8 internal constant COMMITTED = 2;
    uint8 internal constant REVEALED = 4;

    // ------------------------------------------------------------------ task lanes (seats)

    function taskLane(uint256 node, uint256[MAX_K] memory seats, uint256 k) internal pure returns (uint256 lane) {
        lane = node;
        for (uint256 j; j < MAX_K; ++j) {
            lane |= (j < k ? seats[j] : EMPTY) << (8 * (j + 1));
        }
    }

    function readTask(mapping(uint256 => uint256) storage words, uint256 index) internal view returns (uint256) {
        return (words[index / TASKS_PER_WORD] >> (32 * (index % TASKS_PER_WORD))) & 0xFFFFFFFF;
    }

    /// @notice The node's participant index of a task lane.
    function nodeOf(uint256 lane) internal pure returns (uint256) {
        return lane & 0xFF;
    }

    /// @notice The participant index of seat `j` of a task lane, EMPTY past K.
    function seatOf(uint256 lane, uint256 j) internal pure returns (uint256) {
        return (lane >> (8 * (j + 1))) & 0xFF;
    }

    // ------------------------------------------------------------------ participant lanes

    function participantLane(uint256 nodeId, uint256 items) internal pure returns (uint256) {
        return nodeId | (items << 32);
    }

    function readParticipant(mapping(uint256 => uint256) storage words, uint256 p)
        internal
        view
        returns (uint32 nodeId, uint16 items, uint8 flags)
    {
        uint256 lane = words[p / PARTICIPANTS_PER_WORD] >> (64 * (p % PARTICIPANTS_PER_WORD));
        return (uint32(lane), uint16(lane >> 32), uint8(lane >> 48));
    }

    function setFlag(mapping(uint256 => uint256) storage words, uint256 p, uint8 flag) internal {
        words[p / PARTICIPANTS_PER_WORD] |= uint256(flag) << (64 * (p % PARTICIPANTS_PER_WORD) + 48);
    }
}
