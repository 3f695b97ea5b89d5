// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title IdentityState: claimd's on-chain registry of iden3 identity states.
/// @notice ABI-compatible with the iden3 `State` contract (iden3/contracts, State 2.6.x) for the
/// subset claimd uses: `transitStateGeneric` with method 1 (Ethereum-controlled identities), the
/// state-info getters, `idExists`, `stateExists` and the `StateUpdated` event. Function selectors,
/// the `StateInfo` return layout, the event signature and the revert reasons are the same as
/// iden3's, so iden3 tooling (resolvers, js-sdk, the issuer node) can read it.
/// @dev Deliberate differences from iden3's State:
///  - no ZK `transitState`, no GIST tree, no verifier, not upgradeable, no owner;
///  - every ID type is accepted (iden3 keeps an owner-managed allow-list): the ownership check
///    already binds the ID's genesis to `msg.sender`, and the type bytes are part of the ID.
/// Storage mirrors iden3's StateLib: per ID a history of (state, timestamp, block) entries and,
/// per (ID, state), the indexes of that state in the history. As in iden3, a genesis transition
/// first records the old (genesis) state with timestamp and block 0, then the new state, and
/// emits `StateUpdated` for both.
contract IdentityState {
    /// @notice Contract version (claimd's, not iden3's).
    string public constant VERSION = "claimd-1.0.0";

    /// @notice The 7-field state record returned by the getters (iden3 `IState.StateInfo`).
    struct StateInfo {
        uint256 id;
        uint256 state;
        uint256 replacedByState;
        uint256 createdAtTimestamp;
        uint256 replacedAtTimestamp;
        uint256 createdAtBlock;
        uint256 replacedAtBlock;
    }

    struct Entry {
        uint256 state;
        uint256 timestamp;
        uint256 blockN;
    }

    /// @notice Emitted for every state recorded for an identity (same signature as iden3's).
    event StateUpdated(uint256 id, uint256 blockN, uint256 timestamp, uint256 state);

    // id => history of states, oldest first
    mapping(uint256 => Entry[]) private _entries;
    // id => state => indexes into _entries[id] where this state was recorded
    mapping(uint256 => mapping(uint256 => uint256[])) private _indexes;

    /// @notice Change the state of an identity without a ZK proof.
    /// @dev Only `methodId == 1` is supported: the caller's address must be the genesis of `id`
    /// (iden3 `GenesisUtils.calcIdFromEthAddress(idType(id), msg.sender) == id`), `methodParams`
    /// must be empty and, for the first transition, `oldState` must be 0.
    function transitStateGeneric(
        uint256 id,
        uint256 oldState,
        uint256 newState,
        bool isOldStateGenesis,
        uint256 methodId,
        bytes calldata methodParams
    ) external {
        if (methodId == 1) {
            require(calcIdFromEthAddress(id, msg.sender) == id, "msg.sender is not owner of the identity");
            require(methodParams.length == 0, "methodParams should be empty");
            if (isOldStateGenesis) {
                require(oldState == 0, "Old state should be zero");
            }
            _transitState(id, oldState, newState, isOldStateGenesis);
        } else {
            revert("Unknown state transition method id");
        }
    }

    /// @notice The latest state of `id`. Reverts "Identity does not exist" if it has none.
    function getStateInfoById(uint256 id) external view returns (StateInfo memory) {
        require(idExists(id), "Identity does not exist");
        Entry[] storage entries = _entries[id];
        Entry storage e = entries[entries.length - 1];
        return StateInfo(id, e.state, 0, e.timestamp, 0, e.blockN, 0);
    }

    /// @notice The latest record of `state` for `id`, with what replaced it (if anything).
    /// Reverts "State does not exist" if `id` never had `state`.
    function getStateInfoByIdAndState(uint256 id, uint256 state) external view returns (StateInfo memory) {
        require(stateExists(id, state), "State does not exist");
        uint256[] storage idx = _indexes[id][state];
        return _infoAt(id, idx[idx.length - 1]);
    }

    /// @notice Number of recorded states of `id` (a genesis transition records two).
    function getStateInfoHistoryLengthById(uint256 id) external view returns (uint256) {
        require(idExists(id), "Identity does not exist");
        return _entries[id].length;
    }

    /// @notice Whether `id` has any recorded state.
    function idExists(uint256 id) public view returns (bool) {
        return _entries[id].length > 0;
    }

    /// @notice Whether `id` ever had `state`.
    function stateExists(uint256 id, uint256 state) public view returns (bool) {
        return _indexes[id][state].length > 0;
    }

    /// @notice The ID that Ethereum address `caller` controls, with the ID type (first two bytes)
    /// taken from `id`: `type[2] || 7 zero bytes || address[20] || checksum[2]` read little-endian,
    /// where `checksum = uint16(sum of the first 29 bytes)` stored little-endian.
    function calcIdFromEthAddress(uint256 id, address caller) public pure returns (uint256 calc) {
        uint256 t0 = id & 0xff;
        uint256 t1 = (id >> 8) & 0xff;
        uint256 sum = t0 + t1;
        calc = t0 | (t1 << 8);
        uint256 a = uint256(uint160(caller));
        // address byte j (big-endian, j = 0 most significant) is ID byte 9 + j
        for (uint256 j = 0; j < 20; ++j) {
            uint256 b = (a >> (8 * (19 - j))) & 0xff;
            sum += b;
            calc |= b << (8 * (9 + j));
        }
        calc |= (sum & 0xffff) << (8 * 29);
    }

    function _transitState(uint256 id, uint256 oldState, uint256 newState, bool isOldStateGenesis) private {
        require(id != 0, "ID should not be zero");
        require(newState != 0, "New state should not be zero");

        if (isOldStateGenesis) {
            require(!idExists(id), "Old state is genesis but identity already exists");
            // as iden3: record the genesis state with zero timestamp and block
            _addState(id, oldState, 0, 0);
        } else {
            require(idExists(id), "Old state is not genesis but identity does not yet exist");
            Entry[] storage entries = _entries[id];
            require(entries[entries.length - 1].state == oldState, "Old state does not match the latest state");
        }

        // this checks that oldState != newState as well
        require(!stateExists(id, newState), "New state already exists");
        _addState(id, newState, block.timestamp, block.number);
    }

    function _addState(uint256 id, uint256 state, uint256 timestamp, uint256 blockN) private {
        Entry[] storage entries = _entries[id];
        entries.push(Entry(state, timestamp, blockN));
        _indexes[id][state].push(entries.length - 1);
        emit StateUpdated(id, blockN, timestamp, state);
    }

    function _infoAt(uint256 id, uint256 index) private view returns (StateInfo memory info) {
        Entry[] storage entries = _entries[id];
        Entry storage e = entries[index];
        info.id = id;
        info.state = e.state;
        info.createdAtTimestamp = e.timestamp;
        info.createdAtBlock = e.blockN;
        if (index + 1 < entries.length) {
            Entry storage next = entries[index + 1];
            info.replacedByState = next.state;
            info.replacedAtTimestamp = next.timestamp;
            info.replacedAtBlock = next.blockN;
        }
    }
}
