// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title KeyServerRegistry
/// @notice The Seal key servers of this chain, as Mysten's Seal keeps them as on-chain
/// `KeyServer` objects: each entry has an id, the operator who registered it, a name, the URL
/// it serves `/v1/seal/info` and `/v1/seal/share` on, and its 32-byte X25519 public key.
/// Clients encrypt to the keys registered here and refuse a server whose URL answers another
/// key (docs/seal.md).
/// @dev One entry per id (ids count from 1): an operator may run several key servers. Anyone
/// may register; only the entry's operator may change its URL or deregister it. A public key
/// belongs to one entry forever, even after deregistration, so a key that blobs were sealed
/// to never reappears under another operator's entry. Deregistration is final.
contract KeyServerRegistry {
    /// @notice One registered key server.
    struct KeyServer {
        uint256 id;
        address operator;
        string name;
        string url;
        bytes32 publicKey;
        bool active;
    }

    /// @notice Longest name, in bytes.
    uint256 public constant MAX_NAME_BYTES = 64;
    /// @notice Longest URL, in bytes.
    uint256 public constant MAX_URL_BYTES = 256;

    KeyServer[] private _servers;
    mapping(bytes32 publicKey => uint256 id) private _idOfKey;

    /// @notice `operator` registered key server `id`.
    event KeyServerRegistered(
        uint256 indexed id, address indexed operator, string name, string url, bytes32 publicKey
    );
    /// @notice The operator of key server `id` moved it to `url`.
    event KeyServerUrlUpdated(uint256 indexed id, string url);
    /// @notice The operator of key server `id` deregistered it.
    event KeyServerDeregistered(uint256 indexed id, address indexed operator);

    error KeyServerRegistryEmptyName();
    error KeyServerRegistryNameTooLong(uint256 length, uint256 maxLength);
    error KeyServerRegistryEmptyUrl();
    error KeyServerRegistryUrlTooLong(uint256 length, uint256 maxLength);
    error KeyServerRegistryZeroKey();
    error KeyServerRegistryDuplicateKey(bytes32 publicKey, uint256 existingId);
    error KeyServerRegistryUnknownKeyServer(uint256 id);
    error KeyServerRegistryNotOperator(uint256 id, address caller);
    error KeyServerRegistryInactive(uint256 id);

    /// @notice Registers a key server operated by the caller.
    /// @param name A display name, 1 to MAX_NAME_BYTES bytes.
    /// @param url Where it serves, 1 to MAX_URL_BYTES bytes.
    /// @param publicKey Its X25519 public key; not zero, never registered before.
    /// @return id The new entry's id.
    function register(string calldata name, string calldata url, bytes32 publicKey)
        external
        returns (uint256 id)
    {
        _checkName(name);
        _checkUrl(url);
        if (publicKey == bytes32(0)) revert KeyServerRegistryZeroKey();
        uint256 existing = _idOfKey[publicKey];
        if (existing != 0) revert KeyServerRegistryDuplicateKey(publicKey, existing);
        id = _servers.length + 1;
        _servers.push(KeyServer(id, msg.sender, name, url, publicKey, true));
        _idOfKey[publicKey] = id;
        emit KeyServerRegistered(id, msg.sender, name, url, publicKey);
    }

    /// @notice Moves key server `id` to a new URL (its operator only, while active).
    /// @param id A registered key server.
    /// @param url The new URL, 1 to MAX_URL_BYTES bytes.
    function updateUrl(uint256 id, string calldata url) external {
        KeyServer storage server = _activeOfCaller(id);
        _checkUrl(url);
        server.url = url;
        emit KeyServerUrlUpdated(id, url);
    }

    /// @notice Deregisters key server `id` (its operator only); clients stop using it. Its
    /// public key stays reserved.
    /// @param id An active key server.
    function deregister(uint256 id) external {
        KeyServer storage server = _activeOfCaller(id);
        server.active = false;
        emit KeyServerDeregistered(id, msg.sender);
    }

    /// @notice Key server `id`.
    /// @param id From 1 to keyServerCount().
    /// @return The entry, active or not.
    function keyServer(uint256 id) external view returns (KeyServer memory) {
        return _servers[_index(id)];
    }

    /// @notice How many key servers were ever registered (the highest id).
    /// @return The count, deregistered ones included.
    function keyServerCount() external view returns (uint256) {
        return _servers.length;
    }

    /// @notice Every key server ever registered, in id order.
    /// @return All entries; `active` tells which ones clients use.
    function keyServers() external view returns (KeyServer[] memory) {
        return _servers;
    }

    /// @notice The entry holding `publicKey`.
    /// @param publicKey An X25519 public key.
    /// @return Its id, or 0 if no entry ever held it.
    function idOfKey(bytes32 publicKey) external view returns (uint256) {
        return _idOfKey[publicKey];
    }

    function _activeOfCaller(uint256 id) private view returns (KeyServer storage server) {
        server = _servers[_index(id)];
        if (server.operator != msg.sender) revert KeyServerRegistryNotOperator(id, msg.sender);
        if (!server.active) revert KeyServerRegistryInactive(id);
    }

    function _index(uint256 id) private view returns (uint256) {
        if (id == 0 || id > _servers.length) revert KeyServerRegistryUnknownKeyServer(id);
        return id - 1;
    }

    function _checkName(string calldata name) private pure {
        uint256 length = bytes(name).length;
        if (length == 0) revert KeyServerRegistryEmptyName();
        if (length > MAX_NAME_BYTES) revert KeyServerRegistryNameTooLong(length, MAX_NAME_BYTES);
    }

    function _checkUrl(string calldata url) private pure {
        uint256 length = bytes(url).length;
        if (length == 0) revert KeyServerRegistryEmptyUrl();
        if (length > MAX_URL_BYTES) revert KeyServerRegistryUrlTooLong(length, MAX_URL_BYTES);
    }
}
