<#
.SYNOPSIS
  Writes an lmlab inventory (schema lmlab.inventory/1) of this failover cluster to one JSON file.

.DESCRIPTION
  READ-ONLY. This script changes nothing on any node: it only runs Get-* cmdlets and writes one
  file on the machine it runs on. Run it on one cluster node as an administrator, in Windows
  PowerShell 5.1 or PowerShell 7; it reaches every node with Invoke-Command (WinRM).

  What it reads, per cluster: Get-Cluster, Get-ClusterQuorum, Get-ClusterNode, Get-ClusterNetwork,
  Get-ClusterNetworkInterface, Get-ClusterGroup (virtual machines), Get-ClusterSharedVolume, and
  the "Virtual Machine" resource type's MigrationNetworkOrder and MigrationExcludeNetworks.
  Per node: Win32_Processor (cores, logical processors, clock), Get-VMHost, Get-VMMigrationNetwork,
  Get-NetAdapter, Get-NetAdapterRss, Get-NetAdapterRdma with *NetworkDirectTechnology,
  Get-NetLbfoTeam, Get-VMSwitch, Get-VMSwitchTeam, Get-SmbMultichannelConnection,
  Get-SmbBandwidthLimit (when the FS-SMBBW feature is installed), Get-NetQosPolicy,
  Get-NetQosFlowControl, Get-NetQosTrafficClass, Get-NetQosDcbxSetting, Get-NetAdapterQos, Get-VM,
  Get-VMIntegrationService, and VMMS events 20415/20417 of the last 7 days.
  It reads no guest data, no credentials and no file contents.

  Rules (docs/inventory-format.md): properties selected by name; enums as numbers (64-bit flag
  enums cast to [uint64]), with names where numbers vary by build; TimeSpan as seconds, Version as
  text, DateTime as UTC ISO 8601; lists always arrays; a missing cmdlet or feature gives [].

.PARAMETER Path
  The JSON file to write (UTF-8). Default: .\lmlab-inventory-<cluster>.json

.EXAMPLE
  .\Get-LmlabInventory.ps1 -Path C:\temp\cluster.json
  lmlab import C:\temp\cluster.json --out mylab.toml
#>
[CmdletBinding()]
param([string]$Path)

Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'
Import-Module FailoverClusters

function Sel($objects, [string[]]$props) { @($objects | Select-Object -Property $props) }
function Try-Get([scriptblock]$block) { try { @(& $block) } catch { @() } }

$cluster = Get-Cluster
$clusterProps = 'Name', 'ClusterFunctionalLevel', 'DynamicQuorum', 'WitnessDynamicWeight',
  'LowerQuorumPriorityNodeId', 'SameSubnetDelay', 'SameSubnetThreshold', 'CrossSubnetDelay',
  'CrossSubnetThreshold', 'RouteHistoryLength', 'ResiliencyDefaultPeriod', 'QuarantineThreshold',
  'QuarantineDuration', 'DrainOnShutdown', 'MaximumParallelMigrations', 'SetSMBBandwidthLimit',
  'SMBBandwidthLimitFactor'
$c = [ordered]@{}
foreach ($p in $clusterProps) {
  if ($cluster.PSObject.Properties[$p]) { $c[$p] = $cluster.$p }
}
if ($cluster.PSObject.Properties['ResiliencyLevel'] -and $null -ne $cluster.ResiliencyLevel) {
  $c['ResiliencyLevel'] = [int]$cluster.ResiliencyLevel
}
$q = Get-ClusterQuorum
$vmType = Get-ClusterResourceType -Name 'Virtual Machine' | Get-ClusterParameter
$param = { param($n) ($vmType | Where-Object Name -eq $n | Select-Object -First 1).Value }

$inventory = [ordered]@{
  schema = 'lmlab.inventory/1'
  collector = [ordered]@{
    ps_version = $PSVersionTable.PSVersion.ToString()
    collected_utc = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ')
  }
  cluster = $c
  quorum = [ordered]@{
    QuorumType = [int]$q.QuorumType
    QuorumResource = if ($q.QuorumResource) { $q.QuorumResource.Name } else { $null }
  }
  vm_resource_type = [ordered]@{
    MigrationNetworkOrder = [string](& $param 'MigrationNetworkOrder')
    MigrationExcludeNetworks = [string](& $param 'MigrationExcludeNetworks')
  }
  nodes = @(Get-ClusterNode | ForEach-Object {
    [ordered]@{ Name = $_.Name; Id = [string]$_.Id; State = [int]$_.State
      StatusInformation = [uint64]$_.StatusInformation; DrainStatus = [int]$_.DrainStatus
      NodeWeight = $_.NodeWeight; DynamicWeight = $_.DynamicWeight; BuildNumber = $_.BuildNumber }
  })
  networks = @(Get-ClusterNetwork | ForEach-Object {
    [ordered]@{ Name = $_.Name; Id = [string]$_.Id; Address = $_.Address; AddressMask = $_.AddressMask
      Role = [int]$_.Role; Metric = $_.Metric; AutoMetric = $_.AutoMetric; State = [int]$_.State }
  })
  network_interfaces = @(Get-ClusterNetworkInterface | ForEach-Object {
    [ordered]@{ Node = [string]$_.Node; Network = [string]$_.Network; Adapter = $_.Adapter
      Address = $_.Address; State = [int]$_.State }
  })
  csvs = @(Get-ClusterSharedVolume | ForEach-Object {
    [ordered]@{ Name = $_.Name; OwnerNode = $_.OwnerNode.Name; State = [int]$_.State
      SharedVolumeInfo = @($_.SharedVolumeInfo | ForEach-Object {
        [ordered]@{ FriendlyVolumeName = $_.FriendlyVolumeName
          Partition = [ordered]@{ Size = $_.Partition.Size; FreeSpace = $_.Partition.FreeSpace } } }) }
  })
  groups = @(Get-ClusterGroup | Where-Object { [int]$_.GroupType -eq 111 } | ForEach-Object {
    [ordered]@{ Name = $_.Name; GroupType = [int]$_.GroupType; OwnerNode = $_.OwnerNode.Name
      State = [int]$_.State; StatusInformation = [uint64]$_.StatusInformation
      Priority = $_.Priority; ResiliencyPeriod = $_.ResiliencyPeriod }
  })
  hosts = [ordered]@{}
}

# Per node, read-only, in one remote call each.
$perNode = {
  function Sel($objects, [string[]]$props) { @($objects | Select-Object -Property $props) }
  function Try-Get([scriptblock]$block) { try { @(& $block) } catch { @() } }
  $vmhost = Get-VMHost
  $ndt = @{}
  foreach ($p in (Try-Get { Get-NetAdapterAdvancedProperty -RegistryKeyword '*NetworkDirectTechnology' })) {
    $ndt[$p.Name] = [string]($p.RegistryValue | Select-Object -First 1)
  }
  [ordered]@{
    processors = Sel (Get-CimInstance Win32_Processor) 'NumberOfCores', 'NumberOfLogicalProcessors', 'MaxClockSpeed'
    vmhost = [ordered]@{ LogicalProcessorCount = $vmhost.LogicalProcessorCount
      MemoryCapacity = $vmhost.MemoryCapacity
      VirtualMachineMigrationAuthenticationType = [int]$vmhost.VirtualMachineMigrationAuthenticationType
      VirtualMachineMigrationPerformanceOption = [int]$vmhost.VirtualMachineMigrationPerformanceOption
      MaximumVirtualMachineMigrations = $vmhost.MaximumVirtualMachineMigrations
      MaximumStorageMigrations = $vmhost.MaximumStorageMigrations
      UseAnyNetworkForMigration = [bool]$vmhost.UseAnyNetworkForMigration }
    migration_networks = Sel (Try-Get { Get-VMMigrationNetwork }) 'Subnet', 'Priority'
    net_adapters = Sel (Get-NetAdapter) 'Name', 'InterfaceDescription', 'ReceiveLinkSpeed', 'TransmitLinkSpeed', 'MtuSize', 'Virtual', 'DriverVersionString'
    rss = @(Try-Get { Get-NetAdapterRss } | ForEach-Object {
      [ordered]@{ Name = $_.Name; Enabled = $_.Enabled; Profile = [int]$_.Profile
        BaseProcessorGroup = $_.BaseProcessorGroup; BaseProcessorNumber = $_.BaseProcessorNumber
        MaxProcessorGroup = $_.MaxProcessorGroup; MaxProcessorNumber = $_.MaxProcessorNumber
        MaxProcessors = $_.MaxProcessors; NumberOfReceiveQueues = $_.NumberOfReceiveQueues; NumaNode = $_.NumaNode } })
    rdma = @(Try-Get { Get-NetAdapterRdma } | ForEach-Object {
      [ordered]@{ Name = $_.Name; Enabled = $_.Enabled; NetworkDirectTechnology = $ndt[$_.Name] } })
    lbfo_teams = @(Try-Get { Get-NetLbfoTeam } | ForEach-Object {
      [ordered]@{ Name = $_.Name; TeamingMode = [int]$_.TeamingMode
        LoadBalancingAlgorithm = [int]$_.LoadBalancingAlgorithm; Members = @($_.Members) } })
    vm_switches = @(Try-Get { Get-VMSwitch } | ForEach-Object {
      [ordered]@{ Name = $_.Name; SwitchType = [int]$_.SwitchType; EmbeddedTeamingEnabled = $_.EmbeddedTeamingEnabled
        AllowManagementOS = $_.AllowManagementOS; NetAdapterInterfaceDescription = $_.NetAdapterInterfaceDescription
        BandwidthReservationMode = [int]$_.BandwidthReservationMode } })
    vm_switch_teams = @(Try-Get { Get-VMSwitchTeam } | ForEach-Object {
      [ordered]@{ Name = $_.Name; TeamingMode = [int]$_.TeamingMode
        LoadBalancingAlgorithm = [int]$_.LoadBalancingAlgorithm
        NetAdapterInterfaceDescription = @($_.NetAdapterInterfaceDescription) } })
    smb_multichannel = Sel (Try-Get { Get-SmbMultichannelConnection }) 'ServerName', 'ClientInterfaceFriendlyName', 'ClientIpAddress', 'ServerIpAddress', 'ClientRdmaCapable', 'ServerRdmaCapable', 'ClientRSSCapable', 'CurrentChannels', 'Selected'
    smb_bandwidth_limits = @(Try-Get { Get-SmbBandwidthLimit } | ForEach-Object {
      [ordered]@{ Category = [int]$_.Category; CategoryName = [string]$_.Category; BytesPerSecond = $_.BytesPerSecond } })
    qos_policies = Sel (Try-Get { Get-NetQosPolicy }) 'Name', 'NetDirectPortMatchCondition', 'PriorityValue8021Action'
    qos_flow_control = Sel (Try-Get { Get-NetQosFlowControl | Where-Object Enabled }) 'Priority', 'Enabled'
    qos_traffic_classes = @(Try-Get { Get-NetQosTrafficClass } | ForEach-Object {
      [ordered]@{ Name = $_.Name; Priority = @($_.Priority); Algorithm = [int]$_.Algorithm
        BandwidthPercentage = $_.BandwidthPercentage } })
    qos_dcbx = Sel (Try-Get { Get-NetQosDcbxSetting }) 'InterfaceAlias', 'Willing'
    adapter_qos = @(Try-Get { Get-NetAdapterQos } | ForEach-Object {
      [ordered]@{ Name = $_.Name; Enabled = $_.Enabled; OperationalFlowControl = [string]$_.OperationalFlowControl } })
    vms = @(Get-VM | ForEach-Object {
      [ordered]@{ Name = $_.Name; Id = [string]$_.Id; Generation = $_.Generation; Version = [string]$_.Version
        State = [int]$_.State; StateName = [string]$_.State; ProcessorCount = $_.ProcessorCount
        MemoryStartup = $_.MemoryStartup; DynamicMemoryEnabled = $_.DynamicMemoryEnabled; Path = $_.Path
        Heartbeat = [int]$_.Heartbeat; IntegrationServicesState = [string]$_.IntegrationServicesState
        IntegrationServicesVersion = [string]$_.IntegrationServicesVersion
        Uptime_s = [math]::Floor($_.Uptime.TotalSeconds) } })
    integration_services = @(Get-VM | Get-VMIntegrationService | ForEach-Object {
      [ordered]@{ VMName = $_.VMName; Name = $_.Name; Enabled = $_.Enabled
        OperationalStatus = @($_.OperationalStatus | ForEach-Object { [int]$_ }) } })
    events = @(Try-Get { Get-WinEvent -FilterHashtable @{ LogName = 'Microsoft-Windows-Hyper-V-VMMS-Admin'; Id = 20415, 20417; StartTime = (Get-Date).AddDays(-7) } } | ForEach-Object {
      [ordered]@{ LogName = $_.LogName; Id = $_.Id
        TimeCreated = $_.TimeCreated.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ')
        Properties = @($_.Properties | ForEach-Object { [string]$_.Value }) } })
  }
}

foreach ($node in Get-ClusterNode) {
  Write-Verbose "reading $($node.Name)"
  $inventory.hosts[$node.Name] = Invoke-Command -ComputerName $node.Name -ScriptBlock $perNode
}

if (-not $Path) { $Path = ".\lmlab-inventory-$($cluster.Name).json" }
$json = $inventory | ConvertTo-Json -Depth 12
# UTF-8 without a byte-order mark in both PowerShell editions.
$full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
[System.IO.File]::WriteAllText($full, $json, (New-Object System.Text.UTF8Encoding $false))
Write-Host "lmlab inventory written to $Path. Next: lmlab import $Path --out mylab.toml"
