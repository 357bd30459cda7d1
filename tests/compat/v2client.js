'use strict';

// A Secrets Manager v2 client on ibm-cloud-sdk-core 5, the core the
// official v2 Node SDK (@ibm-cloud/secrets-manager 2.x) is generated
// against.  The 2.x SDK is not on the package registry these tests install
// from (only 0.1.0 and 0.1.1 are), so this file issues the same requests
// the generated SecretsManagerV2 methods issue: the same paths and path
// parameters, the same Accept / Content-Type headers, a User-Agent of the
// SDK's form, and the core's own request wrapper, authenticators and error
// parsing.  SecretsPager follows the generated pager: it pages by the
// `offset` query parameter of `next.href` and stops when `next` is absent.

const os = require('node:os');
const {
  BaseService, getQueryParam, validateParams, IamAuthenticator,
} = require('sdk-core-v5');

const SDK_VERSION = '2.0.9';

function sdkHeaders() {
  return {
    'User-Agent': `secrets-manager-node-sdk/${SDK_VERSION} (lang=node.js; os.name=${os.platform()} ` +
      `os.version=${os.release()} node.version=${process.version})`,
  };
}

class SecretsManagerV2 extends BaseService {
  constructor(options) {
    super(options || {});
    this.setServiceUrl((options && options.serviceUrl) ||
      'https://provide-here-your-smgr-instanceuuid.us-south.secrets-manager.appdomain.cloud');
  }

  request(params, required, valid, req, { accept = true, contentType } = {}) {
    const err = validateParams({ ...params }, required, [...valid, 'headers']);
    if (err) return Promise.reject(err);
    const headers = { ...sdkHeaders() };
    if (accept) headers.Accept = 'application/json';
    if (contentType) headers['Content-Type'] = contentType;
    return this.createRequest({
      options: req,
      defaultOptions: {
        ...this.baseOptions,
        headers: { ...(this.baseOptions.headers || {}), ...headers, ...(params.headers || {}) },
      },
    });
  }

  getSecret(params = {}) {
    return this.request(params, ['id'], ['id'], {
      url: '/api/v2/secrets/{id}', method: 'GET', path: { id: params.id },
    });
  }

  getSecretMetadata(params = {}) {
    return this.request(params, ['id'], ['id'], {
      url: '/api/v2/secrets/{id}/metadata', method: 'GET', path: { id: params.id },
    });
  }

  getSecretByNameType(params = {}) {
    const names = ['secretType', 'name', 'secretGroupName'];
    return this.request(params, names, names, {
      url: '/api/v2/secret_groups/{secret_group_name}/secret_types/{secret_type}/secrets/{name}',
      method: 'GET',
      path: {
        secret_type: params.secretType, name: params.name, secret_group_name: params.secretGroupName,
      },
    });
  }

  listSecrets(params = {}) {
    const valid = ['offset', 'limit', 'sort', 'search', 'groups', 'secretTypes', 'matchAllLabels'];
    return this.request(params, [], valid, {
      url: '/api/v2/secrets',
      method: 'GET',
      qs: {
        offset: params.offset,
        limit: params.limit,
        sort: params.sort,
        search: params.search,
        groups: params.groups,
        secret_types: params.secretTypes,
        match_all_labels: params.matchAllLabels,
      },
    });
  }

  createSecretVersion(params = {}) {
    const names = ['secretId', 'secretVersionPrototype'];
    return this.request(params, names, names, {
      url: '/api/v2/secrets/{secret_id}/versions',
      method: 'POST',
      body: params.secretVersionPrototype,
      path: { secret_id: params.secretId },
    }, { contentType: 'application/json' });
  }

  listSecretVersions(params = {}) {
    return this.request(params, ['secretId'], ['secretId'], {
      url: '/api/v2/secrets/{secret_id}/versions', method: 'GET', path: { secret_id: params.secretId },
    });
  }

  getSecretVersion(params = {}) {
    const names = ['secretId', 'id'];
    return this.request(params, names, names, {
      url: '/api/v2/secrets/{secret_id}/versions/{id}',
      method: 'GET',
      path: { secret_id: params.secretId, id: params.id },
    });
  }
}

class SecretsPager {
  constructor(client, params = {}) {
    if (params.offset !== undefined) throw new Error('the parameter "offset" is managed by the pager');
    this.client = client;
    this.params = { ...params };
    this.hasNextPage = true;
    this.pageContext = { next: undefined };
  }

  hasNext() {
    return this.hasNextPage;
  }

  async getNext() {
    if (!this.hasNext()) throw new Error('No more results available');
    if (this.pageContext.next !== undefined) this.params.offset = Number(this.pageContext.next);
    const response = await this.client.listSecrets(this.params);
    const { result } = response;
    let next;
    if (result && result.next) next = getQueryParam(result.next.href, 'offset');
    this.pageContext.next = next;
    if (next === undefined || next === null) this.hasNextPage = false;
    return result.secrets;
  }

  async getAll() {
    const all = [];
    while (this.hasNext()) all.push(...await this.getNext());
    return all;
  }
}

module.exports = { SecretsManagerV2, SecretsPager, IamAuthenticator };
